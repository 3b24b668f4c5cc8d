// The PE datapath of one tile: step sequencer, input and weight reads, operand registers, the PE
// array (or, in vector mode, the vector lanes), the requantization lanes and the output-buffer
// writes (docs/microarchitecture.md, sections 3, 4 and 6).
//
// Loop order: for each output pixel of the tile (row-major), for each window block (by, bx), for
// each pass, for each operand, for each input-channel group g: one step. A convolution has
// `y_blocks` x `x_blocks` window blocks of KMAX x KMAX (one when K <= KMAX), `passes` passes in
// each block (`passes_last` in the last block row; a KRP unit's kept-row slots, or a dense layer's
// rows on KRP units: the pass only changes the weight word), one operand and the tile's `groups`
// (from `blk_first` and `slice_first`: a grouped convolution's tile reads its groups' channels);
// a pooling layer its window blocks and the groups that hold the tile's channels; an add also two
// operands. Window elements past the window are masked to zero.
//
// Windows (docs/microarchitecture.md, section 6): along each axis, window i starts at
// floor(i*a/d) - pad and spans floor((i*a + b)/d) - floor(i*a/d) positions; the datapath steps
// the start by `step` = a div d plus a carry of the remainder (`rem` = a mod d, modulo `den` = d)
// and takes the span as `size` = b div d, plus one when the remainder is at least `thr` =
// d - (b mod d). A convolution's and an add's windows are regular (d = 1: a = stride, b = K). An
// average pooling's window divisor along each axis (its extent in the map padded by `dpad`) is
// one of two values; `div1` marks the second, and the pixel's two bits pick its multiplier.
//
// Pipeline: a step issued in cycle t (S0, the counters) has its byte offset summed in t+1 (S1),
// its input-copy and weight-word addresses registered in t+2 (S2), the words back from the
// buffers in t+3 (S3: the window is cut out, masked and registered as the operands), enters the
// array in t+4 and, if it is the last step of its pixel, its TN outputs are written to the output
// buffer in cycle t+11. `last_issue` is high in the cycle the tile's last step is issued, and
// `data_done` pulses the cycle after the tile's last output is written.
//
// Input addressing (no multiplier, no division): the input half holds the tile's rows as they
// lie in DDR (channel blocks of TN, row-major). The window of output pixel (oy, ox) starts at
// input row y0 = y_first + oy*s and column x0 = ox*s - pad; its window row dy of block bb of
// group g is the run of KMAX pixels at byte
//   row_off + oy*srow_bytes + x0*TN + [block (by, bx): by*krow_bytes + bx*KMAX*TN]
//   + [operand B: opb_off] + [group g: block and slice offset] + dy*row_bytes + bb*blk_bytes
// where every term is a counter stepped by a per-layer constant. Rows and columns outside the
// map (and, in vector mode, elements outside the pooling window) are masked to zero.
module pe_datapath #(
    parameter KIND       = 3,
    parameter TN         = 8,
    parameter TM         = 4,
    parameter KMAX       = 3,
    parameter A          = 8,
    parameter W          = 4,
    parameter ACC_W      = 32,
    parameter BEAT       = 8,
    parameter IN_HALF    = 32768,  // input-buffer bytes per half
    parameter W_LANES    = 7,      // beats per weight word
    parameter W_HALF     = 512,    // weight words per half
    parameter OUT_RAMS   = 1,
    parameter OUT_HALF   = 1024,   // output-buffer rows per memory and half
    parameter DIM_W      = 12,
    parameter CH_W       = 16,
    parameter OFF_W      = 24,
    parameter SHIFT_W    = W,
    parameter PROD_W     = 17,
    parameter TAPS       = (KIND == 3) ? KMAX : KMAX * KMAX,
    parameter IDX_W      = (KIND == 3 && KMAX > 1) ? $clog2(KMAX) : 0,
    parameter ITEM_W     = TAPS * W + IDX_W,
    parameter COPIES     = KMAX * ((TM > TN) ? TM / TN : 1),
    parameter CW         = (TM < TN) ? TM : TN,            // channels per chunk
    parameter IN_ADDR_W  = $clog2(2 * IN_HALF),
    parameter W_WORD_W   = $clog2(2 * W_HALF),
    parameter OUT_ROW_W  = $clog2(2 * OUT_HALF),
    parameter OUT_RAM_W  = (OUT_RAMS > 1) ? $clog2(OUT_RAMS) : 1,
    parameter COL_W      = (TM > 1) ? $clog2(TM) : 1
) (
    input  wire                         clk,
    input  wire                         rst,
    // tile start and geometry (sampled at start)
    input  wire                         start,
    input  wire [DIM_W-1:0]             out_rows,    // output rows of the tile
    input  wire [DIM_W+1:0]             y_first,     // input row of its first window (signed)
    input  wire [OFF_W-1:0]             row_off,     // that row's byte offset in the half (signed)
    input  wire [OFF_W-1:0]             opb_off,     // operand B's byte offset in the half
    input  wire [OFF_W-1:0]             blk_first,   // vector mode: the tile's first block offset
    input  wire [CH_W-1:0]              chans,       // output channels of the tile
    input  wire [COL_W-1:0]             col_first,   // vector mode: its first channel mod TM
    input  wire [OFF_W-1:0]             slice_first, // convolution: the first group's channel offset in its block
    input  wire [CH_W-1:0]              tile_groups, // convolution: input-channel groups the tile reads
    input  wire [DIM_W-1:0]             y_rem_first, // remainder of the tile's first window row
    input  wire                         in_half,
    input  wire                         w_half,
    input  wire                         out_half,
    // layer constants
    input  wire [1:0]                   mode,        // 0 convolution, 1 max pool, 2 average pool, 3 add
    input  wire [DIM_W-1:0]             y_step, x_step,   // window start step (a div d)
    input  wire [DIM_W-1:0]             y_rem, x_rem,     // its remainder (a mod d)
    input  wire [DIM_W-1:0]             y_den, x_den,     // d
    input  wire [7:0]                   y_size, x_size,   // window span b div d
    input  wire [DIM_W-1:0]             y_thr, x_thr,     // the span is one more from this remainder
    input  wire [7:0]                   x_pad,            // padding before the first column
    input  wire [7:0]                   y_dpad, x_dpad,   // average: padding counted in the divisor
    input  wire [8:0]                   y_div1, x_div1,   // average: the second divisor
    input  wire [7:0]                   y_blocks, x_blocks, // window blocks per side
    input  wire [OFF_W-1:0]             xstep_bytes,      // x_step * TN
    input  wire [15:0]                  avg_m0, avg_m1, avg_m2, avg_m3, // average: multiplier by divisor class
    input  wire [DIM_W-1:0]             h_in,
    input  wire [DIM_W-1:0]             w_in,
    input  wire [DIM_W-1:0]             w_out,
    input  wire [7:0]                   passes,      // convolution: passes per window block
    input  wire [7:0]                   passes_last, // convolution: passes per block of the last block row
    input  wire                         narrow,      // 1x1 items: one code per unit
    input  wire [OFF_W-1:0]             row_bytes,   // one input row of every block
    input  wire [OFF_W-1:0]             blk_bytes,   // one input row of one block (W_in * TN)
    input  wire [OFF_W-1:0]             srow_bytes,  // y_step * row_bytes
    input  wire [OFF_W-1:0]             krow_bytes,  // KMAX * row_bytes
    input  wire [3:0]                   shift_a,     // add: left shift of operand A
    input  wire [3:0]                   shift_b,     // add: left shift of operand B
    input  wire [W-1:0]                 n_pos,
    input  wire [SHIFT_W-1:0]           off_pos,
    input  wire [SHIFT_W-1:0]           off_neg,
    input  wire [5:0]                   rq_shift,
    input  wire signed [A-1:0]          rq_lo,
    input  wire signed [A-1:0]          rq_hi,
    // buffers
    output reg                          in_rd_en,
    output reg  [COPIES*IN_ADDR_W-1:0]  in_rd_addr,
    input  wire [COPIES*KMAX*CW*8-1:0]  in_rd_data,
    output reg                          w_rd_en,
    output reg  [W_WORD_W-1:0]          w_rd_word,
    input  wire [W_LANES*8*BEAT-1:0]    w_rd_data,
    output wire                         param_half,
    input  wire [TN*64-1:0]             params,
    output wire                         out_wr_valid,
    output wire [OUT_ROW_W-1:0]         out_wr_row,
    output wire [OUT_RAM_W-1:0]         out_wr_ram,
    output wire [TN*A-1:0]              out_wr_data,
    output wire                         last_issue,  // the tile's last step is issued this cycle
    output reg                          data_done    // the tile's last output was written
);
    localparam PIX_W = 2 * DIM_W;                  // a pixel of the tile
    localparam TAG_W = PIX_W + 3;                  // {last pixel of the tile, pixel, divisor class}
    localparam REL_W = $clog2(TN + 2) + 1;         // a group relative to the tile's first
    localparam integer TN_I = TN, TM_I = TM, KMAX_I = KMAX;
    localparam TN_B = (TN > 1) ? $clog2(TN) : 0;
    localparam TM_B = (TM > 1) ? $clog2(TM) : 0;
    localparam M = (TM > TN) ? TM / TN : 1;        // blocks per group
    localparam NE = KMAX * KMAX;
    localparam OUT_B = (OUT_RAMS > 1) ? $clog2(OUT_RAMS) : 0;
    localparam integer KBX_I = KMAX * TN;          // bytes of a window block's width
    localparam [OFF_W-1:0] TM_OFF = TM_I[OFF_W-1:0];
    localparam [OFF_W-1:0] TN_OFF = TN_I[OFF_W-1:0];
    localparam [OFF_W-1:0] KBX = KBX_I[OFF_W-1:0];
    localparam integer IN_HALF_I = IN_HALF, W_HALF_I = W_HALF, OUT_HALF_I = OUT_HALF;
    localparam [IN_ADDR_W-1:0] IN_HALF_A = IN_HALF_I[IN_ADDR_W-1:0];
    localparam [W_WORD_W-1:0] W_HALF_A = W_HALF_I[W_WORD_W-1:0];
    localparam [OUT_ROW_W-1:0] OUT_HALF_A = OUT_HALF_I[OUT_ROW_W-1:0];

    // ---------------------------------------------------------------- tile registers
    // the counters' last values (counts less one: each end is an equality test of registers)
    reg [DIM_W-1:0] row_last, col_last, h_in_q, w_in_q;
    reg [CH_W-1:0]  g_last;
    reg [7:0]       pass_last, pass_last_by;     // passes of a window block, of the last block row
    reg [7:0]       by_last, bx_last;
    reg             in_half_q, w_half_q, out_half_q, vector_q, is_max_q, is_avg_q, two_q, narrow_q;
    reg [OFF_W-1:0] opb_q, g_base, g_slice0, g_step, krow_q;
    // the window's next row (without / with the remainder's carry row) from its first row, in bytes;
    // the same less the left padding (the row's first pixel); the next pixel's step
    reg [OFF_W-1:0] row_step0, row_step1, row_pix0, row_pix1, pix_step0, pix_step1;
    reg [COPIES*OFF_W-1:0] copy_off;      // copy (dy, bb): dy*row_bytes + bb*blk_bytes
    reg [TN*COL_W-1:0] lane_col;
    reg [TN*REL_W-1:0] lane_group;
    reg [TN-1:0]       lane_on;
    integer m;
    always @(posedge clk) begin
        if (start) begin
            row_last <= out_rows - 1'b1;
            col_last <= w_out - 1'b1;
            h_in_q <= h_in;
            w_in_q <= w_in;
            vector_q <= (mode != 2'd0);
            is_max_q <= (mode == 2'd1);
            is_avg_q <= (mode == 2'd2);
            two_q <= (mode == 2'd3);
            narrow_q <= narrow;
            // vector mode: the groups holding the tile's channels (TM <= TN: ceil(chans / TM))
            g_last <= ((mode == 2'd0) ? tile_groups : (TM > TN) ? {{(CH_W-1){1'b0}}, 1'b1}
                                               : (chans + TM_I[CH_W-1:0] - 1'b1) >> TM_B) - 1'b1;
            pass_last <= (mode == 2'd0) ? passes - 1'b1 : 8'd0;
            pass_last_by <= (mode == 2'd0) ? passes_last - 1'b1 : 8'd0;
            by_last <= y_blocks - 1'b1;
            bx_last <= x_blocks - 1'b1;
            g_base <= blk_first;
            g_slice0 <= (mode == 2'd0) ? slice_first : {OFF_W{1'b0}};
            in_half_q <= in_half;
            w_half_q <= w_half;
            out_half_q <= out_half;
            opb_q <= opb_off;
            g_step <= group_step(blk_bytes);
            copy_off <= copy_offsets(row_bytes, blk_bytes);
            krow_q <= krow_bytes;
            row_step0 <= srow_bytes;
            row_step1 <= srow_bytes + row_bytes;
            row_pix0 <= srow_bytes - ({{(OFF_W-8){1'b0}}, x_pad} << TN_B);
            row_pix1 <= srow_bytes + row_bytes - ({{(OFF_W-8){1'b0}}, x_pad} << TN_B);
            pix_step0 <= xstep_bytes;
            pix_step1 <= xstep_bytes + TN_OFF;
            for (m = 0; m < TN; m = m + 1) begin
                {lane_group[m*REL_W +: REL_W], lane_col[m*COL_W +: COL_W]} <= lane_place(col_first, m);
                lane_on[m] <= (m < chans);
            end
        end
    end
    assign param_half = w_half_q;

    // bytes from one group's first block to the next: one block, or M (TM > TN), by additions
    function [OFF_W-1:0] group_step(input [OFF_W-1:0] blk);
        integer k;
        begin
            group_step = blk;
            for (k = 1; k < M; k = k + 1) group_step = group_step + blk;
        end
    endfunction
    // every copy's offset, by additions: copy dy*M + bb reads window row dy of block bb
    function [COPIES*OFF_W-1:0] copy_offsets(input [OFF_W-1:0] row, input [OFF_W-1:0] blk);
        integer dy, bb;
        reg [OFF_W-1:0] at_row, at;
        begin
            at_row = {OFF_W{1'b0}};
            for (dy = 0; dy < KMAX; dy = dy + 1) begin
                at = at_row;
                for (bb = 0; bb < M; bb = bb + 1) begin
                    copy_offsets[(dy*M + bb)*OFF_W +: OFF_W] = at;
                    at = at + blk;
                end
                at_row = at_row + row;
            end
        end
    endfunction

    // lane i's channel, col_first + i places after the start of the tile's first group:
    // {its group relative to the first, its column}
    function [REL_W+COL_W-1:0] lane_place(input [COL_W-1:0] first, input integer lane);
        integer t, q, n;
        begin
            t = {{(32-COL_W){1'b0}}, first} + lane;    // < TM + TN
            q = 0;
            for (n = 0; n <= TN / TM_I; n = n + 1) begin
                if (t >= TM_I) begin
                    t = t - TM_I;
                    q = q + 1;
                end
            end
            lane_place = {q[REL_W-1:0], t[COL_W-1:0]};
        end
    endfunction

    // ---------------------------------------------------------------- S0: step sequencer
    reg                  s0_valid;
    reg [CH_W-1:0]       g;                   // group of the pass, relative to the first
    reg [OFF_W-1:0]      g_blk, g_slice;      // its block offset and slice offset (bytes)
    reg                  op;                  // operand
    reg [7:0]            pass;
    reg [7:0]            bx, by;              // window block
    reg [OFF_W-1:0]      bx_off, by_off;      // its byte offsets
    reg [DIM_W+1:0]      bx_pix, by_pix;      // its pixel offsets (KMAX * bx, KMAX * by)
    reg [W_WORD_W-1:0]   wword;               // weight word of the step, within the pixel's steps
    reg [DIM_W-1:0]      ox, oy;
    reg [PIX_W-1:0]      pixel;
    reg signed [DIM_W+1:0] x0, y0;            // window origin, input pixels (signed)
    reg [DIM_W-1:0]      xr, yr;              // the window starts' remainders (modulo x_den, y_den)
    reg [OFF_W-1:0]      row_base, pix_byte;  // byte offsets of the window's first row / pixel
    wire last_group = (g == g_last);
    wire last_op    = !two_q || op;
    wire last_bx    = (bx == bx_last);
    wire last_by    = (by == by_last);
    wire last_pass  = (pass == (last_by ? pass_last_by : pass_last));
    wire last_step  = last_group && last_op && last_pass && last_bx && last_by;
    wire last_col   = (ox == col_last);
    wire last_row   = (oy == row_last);
    wire tile_last  = last_step && last_col && last_row;
    wire first_step = (g == {CH_W{1'b0}}) && !op && (pass == 8'd0) && (bx == 8'd0) && (by == 8'd0);
    assign last_issue = s0_valid && tile_last;

    wire             slice_end = (TM >= TN) || (g_slice + TM_OFF == TN_OFF);
    // the next window start along each axis: step, plus one when the remainder wraps (r + rem >=
    // den, i.e. r >= den - rem); every candidate is summed beside the test, then chosen
    wire [DIM_W-1:0] x_wrap_at = x_den - x_rem;    // > 0: rem < den
    wire [DIM_W-1:0] y_wrap_at = y_den - y_rem;
    wire             x_carry = (xr >= x_wrap_at);
    wire             y_carry = (yr >= y_wrap_at);
    wire [DIM_W-1:0] xr_next = x_carry ? xr - x_wrap_at : xr + x_rem;   // < x_den
    wire [DIM_W-1:0] yr_next = y_carry ? yr - y_wrap_at : yr + y_rem;
    wire signed [DIM_W+1:0] x0_next = x_carry ? x0 + $signed({2'b00, x_step}) + 1 : x0 + $signed({2'b00, x_step});
    wire signed [DIM_W+1:0] y0_next = y_carry ? y0 + $signed({2'b00, y_step}) + 1 : y0 + $signed({2'b00, y_step});
    wire [OFF_W-1:0] row_next = y_carry ? row_base + row_step1 : row_base + row_step0;
    wire [OFF_W-1:0] row_pix  = y_carry ? row_base + row_pix1 : row_base + row_pix0;   // its first pixel
    wire [OFF_W-1:0] pix_next = x_carry ? pix_byte + pix_step1 : pix_byte + pix_step0;

    always @(posedge clk) begin
        if (rst) begin
            s0_valid <= 1'b0;
        end else if (start) begin
            s0_valid <= 1'b1;
            g <= {CH_W{1'b0}};
            g_blk <= blk_first;
            g_slice <= (mode == 2'd0) ? slice_first : {OFF_W{1'b0}};
            op <= 1'b0;
            pass <= 8'd0;
            {bx, by} <= 16'd0;
            {bx_off, by_off} <= {2*OFF_W{1'b0}};
            {bx_pix, by_pix} <= {2*(DIM_W+2){1'b0}};
            wword <= {W_WORD_W{1'b0}};
            ox <= {DIM_W{1'b0}};
            oy <= {DIM_W{1'b0}};
            pixel <= {PIX_W{1'b0}};
            x0 <= -$signed({{(DIM_W-6){1'b0}}, x_pad});
            y0 <= y_first;
            xr <= {DIM_W{1'b0}};
            yr <= y_rem_first;
            row_base <= row_off;
            pix_byte <= row_off - ({{(OFF_W-8){1'b0}}, x_pad} << TN_B);
        end else if (s0_valid) begin
            wword <= last_step ? {W_WORD_W{1'b0}} : wword + 1'b1;
            // groups: TM-channel slices of a block, or M whole blocks
            if (!last_group) begin
                g <= g + 1'b1;
                if (slice_end) begin
                    g_slice <= {OFF_W{1'b0}};
                    g_blk <= g_blk + g_step;
                end else begin
                    g_slice <= g_slice + TM_OFF;
                end
            end else begin
                g <= {CH_W{1'b0}};
                g_blk <= g_base;
                g_slice <= g_slice0;
                op <= !last_op;
                if (last_op) begin
                    pass <= last_pass ? 8'd0 : pass + 1'b1;
                    if (last_pass) begin
                        if (!last_bx) begin
                            bx <= bx + 1'b1;
                            bx_off <= bx_off + KBX;
                            bx_pix <= bx_pix + KMAX_I[DIM_W+1:0];
                        end else begin
                            bx <= 8'd0;
                            bx_off <= {OFF_W{1'b0}};
                            bx_pix <= {(DIM_W+2){1'b0}};
                            by <= last_by ? 8'd0 : by + 1'b1;
                            by_off <= last_by ? {OFF_W{1'b0}} : by_off + krow_q;
                            by_pix <= last_by ? {(DIM_W+2){1'b0}} : by_pix + KMAX_I[DIM_W+1:0];
                        end
                    end
                end
            end
            if (last_step) begin
                pixel <= pixel + 1'b1;
                if (!last_col) begin
                    ox <= ox + 1'b1;
                    x0 <= x0_next;
                    xr <= xr_next;
                    pix_byte <= pix_next;
                end else begin
                    ox <= {DIM_W{1'b0}};
                    x0 <= -$signed({{(DIM_W-6){1'b0}}, x_pad});
                    xr <= {DIM_W{1'b0}};
                    oy <= oy + 1'b1;
                    y0 <= y0_next;
                    yr <= yr_next;
                    row_base <= row_next;
                    pix_byte <= row_pix;
                end
                if (last_row && last_col) s0_valid <= 1'b0;
            end
        end
    end

    // ---------------------------------------------------------------- S1: the step's byte offset and masks
    reg                  s1_valid, s1_first, s1_last, s1_tile_last, s1_op;
    reg [PIX_W-1:0]      s1_pixel;
    // average pooling: the window's clipped ends along each axis (its divisor is their difference)
    reg signed [DIM_W+3:0] s1_y_hi, s1_x_hi, s1_y_lo, s1_x_lo;
    reg [REL_W-1:0]      s1_group;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [OFF_W-1:0]      s1_offset;           // bytes from the half's start (signed; modulo the buffer)
    /* verilator lint_on UNUSEDSIGNAL */
    reg [W_WORD_W-1:0]   s1_word;
    reg [KMAX-1:0]       s1_row_ok, s1_col_ok, s1_krow, s1_kcol;
    reg [KMAX-1:0]       row_ok, col_ok, krow, kcol;
    reg signed [DIM_W+3:0] yy, xx;
    integer d;
    // the window's span along each axis
    wire [8:0] size_y = {1'b0, y_size} + {8'd0, (yr >= y_thr)};
    wire [8:0] size_x = {1'b0, x_size} + {8'd0, (xr >= x_thr)};
    always @(*) begin
        for (d = 0; d < KMAX; d = d + 1) begin
            yy = {{2{y0[DIM_W+1]}}, y0} + {2'b00, by_pix} + d[DIM_W+3:0];
            xx = {{2{x0[DIM_W+1]}}, x0} + {2'b00, bx_pix} + d[DIM_W+3:0];
            row_ok[d] = (yy >= 0) && (yy < $signed({4'b0000, h_in_q}));
            col_ok[d] = (xx >= 0) && (xx < $signed({4'b0000, w_in_q}));
            krow[d] = (by_pix + d[DIM_W+1:0] < {{(DIM_W-7){1'b0}}, size_y});
            kcol[d] = (bx_pix + d[DIM_W+1:0] < {{(DIM_W-7){1'b0}}, size_x});
        end
    end
    // an average's divisor along each axis: the window clipped to the map padded by dpad, over
    // three stages (S1 its ends, S2 the clip of its far end and the difference, S3 the class)
    wire signed [DIM_W+3:0] y_lo  = {{2{y0[DIM_W+1]}}, y0};
    wire signed [DIM_W+3:0] x_lo  = {{2{x0[DIM_W+1]}}, x0};
    wire signed [DIM_W+3:0] y_top = $signed({4'b0000, h_in_q}) + $signed({{(DIM_W-4){1'b0}}, y_dpad});
    wire signed [DIM_W+3:0] x_top = $signed({4'b0000, w_in_q}) + $signed({{(DIM_W-4){1'b0}}, x_dpad});
    wire signed [DIM_W+3:0] y_bot = -$signed({{(DIM_W-4){1'b0}}, y_dpad});
    wire signed [DIM_W+3:0] x_bot = -$signed({{(DIM_W-4){1'b0}}, x_dpad});
    always @(posedge clk) begin
        s1_valid <= !rst && s0_valid;
        s1_first <= first_step;
        s1_last <= last_step;
        s1_tile_last <= tile_last;
        s1_op <= op;
        s1_pixel <= pixel;
        s1_y_hi <= y_lo + $signed({{(DIM_W-5){1'b0}}, size_y});
        s1_x_hi <= x_lo + $signed({{(DIM_W-5){1'b0}}, size_x});
        s1_y_lo <= (y_lo > y_bot) ? y_lo : y_bot;
        s1_x_lo <= (x_lo > x_bot) ? x_lo : x_bot;
        s1_group <= g[REL_W-1:0];
        s1_offset <= pix_byte + by_off + bx_off + (op ? opb_q : {OFF_W{1'b0}}) + g_blk + g_slice;
        s1_word <= (w_half_q ? W_HALF_A : {W_WORD_W{1'b0}}) + wword;
        s1_row_ok <= row_ok;
        s1_col_ok <= col_ok;
        s1_krow <= krow;
        s1_kcol <= kcol;
    end

    // ---------------------------------------------------------------- S2: buffer addresses
    reg                  s2_valid, s2_first, s2_last, s2_tile_last, s2_op;
    reg [PIX_W-1:0]      s2_pixel;
    reg [8:0]            s2_y_div, s2_x_div;  // the divisors (low bits)
    /* verilator lint_off UNUSEDSIGNAL */
    wire signed [DIM_W+3:0] y_div = ((s1_y_hi < y_top) ? s1_y_hi : y_top) - s1_y_lo;
    wire signed [DIM_W+3:0] x_div = ((s1_x_hi < x_top) ? s1_x_hi : x_top) - s1_x_lo;
    /* verilator lint_on UNUSEDSIGNAL */
    reg [REL_W-1:0]      s2_group;
    reg [KMAX*KMAX-1:0]  s2_mask;             // window element (dy, dx) valid
    wire [IN_ADDR_W-1:0] in_base = (in_half_q ? IN_HALF_A : {IN_ADDR_W{1'b0}}) + s1_offset[IN_ADDR_W-1:0];
    integer c, dy, dx;
    always @(posedge clk) begin
        s2_valid <= !rst && s1_valid;
        in_rd_en <= !rst && s1_valid;
        w_rd_en <= !rst && s1_valid;
        s2_first <= s1_first;
        s2_last <= s1_last;
        s2_tile_last <= s1_tile_last;
        s2_op <= s1_op;
        s2_pixel <= s1_pixel;
        s2_y_div <= y_div[8:0];
        s2_x_div <= x_div[8:0];
        s2_group <= s1_group;
        for (dy = 0; dy < KMAX; dy = dy + 1)
            for (dx = 0; dx < KMAX; dx = dx + 1)
                s2_mask[dy*KMAX + dx] <= s1_row_ok[dy] && s1_col_ok[dx] && s1_krow[dy] && s1_kcol[dx];
        // copy (dy, bb): window row dy of the group's block bb
        for (c = 0; c < COPIES; c = c + 1)
            in_rd_addr[c*IN_ADDR_W +: IN_ADDR_W] <= in_base + copy_off[c*OFF_W +: IN_ADDR_W];
        w_rd_word <= s1_word;
    end

    // ---------------------------------------------------------------- S3: operands
    // the step's control, in the cycle its words come back from the buffers
    reg                  s3_valid, s3_first, s3_last, s3_tile_last, s3_op;
    reg [PIX_W-1:0]      s3_pixel;
    reg [1:0]            s3_class;
    reg [REL_W-1:0]      s3_group;
    reg [KMAX*KMAX-1:0]  s3_mask;
    always @(posedge clk) begin
        s3_valid <= !rst && s2_valid;
        s3_first <= s2_first;
        s3_last <= s2_last;
        s3_tile_last <= s2_tile_last;
        s3_op <= s2_op;
        s3_pixel <= s2_pixel;
        s3_class <= {s2_y_div == y_div1, s2_x_div == x_div1};
        s3_group <= s2_group;
        s3_mask <= s2_mask;
    end

    // window element (dy, dx) of column j: copy (dy, j / CW) chunk dx, channel j mod CW
    reg [TM*NE*A-1:0] windows;
    reg [TM*NE-1:0]   valid_elems;
    integer j, e;
    always @(*) begin
        for (j = 0; j < TM; j = j + 1)
            for (e = 0; e < NE; e = e + 1) begin
                valid_elems[j*NE + e] = s3_mask[e];
                windows[(j*NE + e)*A +: A] = s3_mask[e]
                    ? in_rd_data[((((e / KMAX) * M + j / CW) * KMAX + e % KMAX) * CW + j % CW) * 8 +: A]
                    : {A{1'b0}};
            end
    end
    // unit (i, j)'s item: one code of a 1x1 step word, or its full item
    reg [TN*TM*ITEM_W-1:0] items;
    integer u;
    always @(*) begin
        for (u = 0; u < TN * TM; u = u + 1) begin
            items[u*ITEM_W +: ITEM_W] = w_rd_data[u*ITEM_W +: ITEM_W];
            if (narrow_q) items[u*ITEM_W +: ITEM_W] = {{(ITEM_W-W){1'b0}}, w_rd_data[u*W +: W]};
        end
    end

    reg [TM*NE*A-1:0]      op_windows;
    reg [TM*NE-1:0]        op_elems;
    reg [TN*TM*ITEM_W-1:0] op_items;
    reg                    op_valid, op_first, op_last, op_operand;
    reg [REL_W-1:0]        op_group;
    reg [TAG_W-1:0]        op_tag;
    always @(posedge clk) begin
        op_windows <= windows;
        op_elems <= valid_elems;
        op_items <= items;
        op_valid <= !rst && s3_valid;
        op_first <= s3_first;
        op_last <= s3_last;
        op_operand <= s3_op;
        op_group <= s3_group;
        op_tag <= {s3_tile_last, s3_pixel, s3_class};
    end

    // ---------------------------------------------------------------- array, requant, writes
    wire                  pe_valid, vec_valid;
    wire [TAG_W-1:0]      pe_tag, vec_tag;
    wire [TN*ACC_W-1:0]   pe_sums, vec_sums;
    pe_array #(
        .KIND(KIND), .TN(TN), .TM(TM), .KMAX(KMAX), .A(A), .W(W), .SHIFT_W(SHIFT_W),
        .PROD_W(PROD_W), .ACC_W(ACC_W), .TAG_W(TAG_W)
    ) u_array (
        .clk(clk), .rst(rst), .windows(op_windows), .items(op_items),
        .n_pos(n_pos), .off_pos(off_pos), .off_neg(off_neg),
        .in_valid(op_valid && !vector_q), .in_first(op_first), .in_last(op_last), .in_tag(op_tag),
        .out_valid(pe_valid), .out_tag(pe_tag), .out_sums(pe_sums)
    );
    vector_lanes #(
        .TN(TN), .TM(TM), .KMAX(KMAX), .A(A), .ACC_W(ACC_W), .TAG_W(TAG_W), .COL_W(COL_W), .REL_W(REL_W)
    ) u_vector (
        .clk(clk), .rst(rst), .is_max(is_max_q), .lane_col(lane_col), .lane_group(lane_group),
        .lane_on(lane_on), .shift_a(shift_a), .shift_b(shift_b), .windows(op_windows),
        .elem_valid(op_elems), .in_group(op_group), .in_operand(op_operand),
        .in_valid(op_valid && vector_q), .in_first(op_first), .in_last(op_last), .in_tag(op_tag),
        .out_valid(vec_valid), .out_tag(vec_tag), .out_sums(vec_sums)
    );
    // the pixel sums of the array or, in vector mode, of the vector lanes, in one register: the
    // requantization multipliers take them from a flip-flop (the choice sits before it, beside
    // the accumulators' own restart-or-add multiplexers)
    reg                   acc_valid;
    reg  [TAG_W-1:0]      acc_tag;
    reg  [TN*ACC_W-1:0]   acc_sums;
    always @(posedge clk) begin
        acc_valid <= !rst && (pe_valid || vec_valid);
        acc_tag <= vector_q ? vec_tag : pe_tag;
        if (pe_valid || vec_valid) acc_sums <= vector_q ? vec_sums : pe_sums;
    end

    // each lane's requantization multiplier, in a register so that the multipliers take it from a
    // flip-flop: an average pooling's is chosen by the pixel's divisor class, which travels beside
    // the operands through the vector lanes (VEC_LAT cycles); the others are fixed for a tile (its
    // parameter words, 1 for a maximum) from its start to its last result
    localparam VEC_LAT = 5;
    reg [(VEC_LAT-1)*2-1:0] class_d;
    wire [1:0]              vec_class = class_d[(VEC_LAT-1)*2-1 -: 2];
    wire signed [15:0]      avg_mult = (vec_class == 2'd0) ? avg_m0 : (vec_class == 2'd1) ? avg_m1
                                     : (vec_class == 2'd2) ? avg_m2 : avg_m3;
    reg  [TN*16-1:0]        rq_mult;
    integer ln;
    always @(posedge clk) begin
        class_d <= {class_d[(VEC_LAT-2)*2-1:0], op_tag[1:0]};
        for (ln = 0; ln < TN; ln = ln + 1)
            rq_mult[ln*16 +: 16] <= is_max_q ? 16'sd1 : is_avg_q ? avg_mult : params[ln*64 +: 16];
    end
    wire [TN-1:0]      rq_valid;
    localparam RQ_LAT = 3;         // the requantization latency
    reg  [RQ_LAT*TAG_W-1:0] rq_tag;
    always @(posedge clk) rq_tag <= {rq_tag[(RQ_LAT-1)*TAG_W-1:0], acc_tag};
    genvar i;
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_lane
            requant #(.ACC_W(ACC_W), .A(A)) u_rq (
                .clk(clk), .rst(rst), .in_valid(acc_valid),
                .acc(acc_sums[i*ACC_W +: ACC_W]),
                // max pooling is not requantized: multiplier 1, bias 0 (and shift 0 in its
                // descriptor); an average pooling's multiplier is its pixel's divisor class's
                .multiplier(rq_mult[i*16 +: 16]),
                .bias(is_max_q ? 48'sd0 : params[i*64 + 16 +: 48]),
                .shift(rq_shift), .lo(rq_lo), .hi(rq_hi),
                .out_valid(rq_valid[i]), .y(out_wr_data[i*A +: A])
            );
        end
    endgenerate
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PIX_W-1:0] out_pixel = rq_tag[(RQ_LAT-1)*TAG_W + 2 +: PIX_W];   // < OUT_HALF * OUT_RAMS
    /* verilator lint_on UNUSEDSIGNAL */
    assign out_wr_valid = &rq_valid;   // the lanes run in lockstep
    assign out_wr_row   = (out_half_q ? OUT_HALF_A : {OUT_ROW_W{1'b0}}) + out_pixel[OUT_B +: OUT_ROW_W];
    generate
        if (OUT_RAMS > 1) begin : g_ram
            assign out_wr_ram = out_pixel[OUT_B-1:0];
        end else begin : g_one
            assign out_wr_ram = 1'b0;
        end
    endgenerate
    always @(posedge clk) data_done <= !rst && out_wr_valid && rq_tag[RQ_LAT*TAG_W-1];
endmodule
