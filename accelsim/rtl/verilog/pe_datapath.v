// The PE datapath of one tile: step sequencer, input and weight reads, operand registers, the PE
// array (or, in vector mode, the vector lanes), the requantization lanes and the output-buffer
// writes.
//
// Loop order (docs/microarchitecture.md, sections 3 and 6): for each output pixel of the tile
// (row-major), for each window block (by, bx), for each operand, for each input-channel group g
// of [g_first, g_first + g_count): one step. A convolution has one block (the RTL runs one pass
// per group, P = 1), one operand and the groups [0, ceil(C_in / TM)); a pooling layer
// ceil(K / KMAX)^2 blocks and the groups that hold the tile's channels; an add also two operands
// (operand B's channels are stored from group `groups` = ceil(C / TM) on). A step
// issued in cycle t (stage S0) reads the buffers in t+1, has its operands registered at the end
// of t+2, enters the array in t+3 and, if it is the last step of its pixel, its TN outputs are
// written to the output buffer in cycle t+9. The tile's last output is therefore written in
// cycle start + steps + 8; `data_done` pulses in the next cycle. The controller holds the PE
// busy for steps + D cycles (D >= 11 leaves the store's prefetch two cycles before the end).
//
// Window addressing: the window of output pixel (oy, ox) starts at slab row y0 = y_first + oy*s
// and column x0 = ox*s - pad, kept as (quotient, remainder) by KMAX. Bank class (ym, xm) supplies
// window element (dy, dx) = ((ym - y0) mod KMAX, (xm - x0) mod KMAX), at slab row
// yq*KMAX + ym with yq = y0/KMAX + (ym < y0 mod KMAX), column likewise; out of the slab (padding)
// or beyond the layer's input channels the element is 0. Its item in the bank (dma_load_in.v):
// (g * R[ym] + yq) * Wc[xm] + xq, R[ym] / Wc[xm] the slab rows / columns of class ym / xm.
// Window block (by, bx) starts KMAX * (by, bx) further: its quotients are y0q + by, x0q + bx.
// In vector mode an element is also ignored outside the pooling window (KMAX * by + dy >= K).
module pe_datapath #(
    parameter KIND       = 3,
    parameter TN         = 8,
    parameter TM         = 4,
    parameter KMAX       = 3,
    parameter A          = 8,
    parameter W          = 4,
    parameter ACC_W      = 32,
    parameter IN_HALF    = 2048,   // input buffer items per bank and half
    parameter W_HALF     = 512,    // weight buffer words per half
    parameter OUT_HALF   = 1024,   // output buffer items per channel and half
    parameter DIM_W      = 12,
    parameter CH_W       = 16,
    parameter SHIFT_W    = W,
    parameter PROD_W     = A + (1 << W) - 1,
    parameter TAPS       = (KIND == 3) ? KMAX : KMAX * KMAX,
    parameter IDX_W      = (KIND == 3 && KMAX > 1) ? $clog2(KMAX) : 0,
    parameter ITEM_W     = TAPS * W + IDX_W,
    parameter NB         = TM * KMAX * KMAX,
    parameter IN_ITEM_W  = $clog2(2 * IN_HALF),
    parameter W_WORD_W   = $clog2(2 * W_HALF),
    parameter OUT_ITEM_W = $clog2(2 * OUT_HALF),
    parameter COL_W      = (TM > 1) ? $clog2(TM) : 1
) (
    input  wire                         clk,
    input  wire                         rst,
    // tile start and geometry (sampled at start)
    input  wire                         start,
    input  wire [DIM_W-1:0]             out_rows,    // output rows of the tile
    input  wire [DIM_W-1:0]             out_width,   // W_out
    input  wire [CH_W-1:0]              groups,      // ceil(C_in / TM): one operand's groups
    input  wire [CH_W-1:0]              g_first,     // first input group the tile reads
    input  wire [CH_W-1:0]              g_count,     // input groups it reads
    input  wire [CH_W-1:0]              rem_first,   // input channels from g_first * TM on
    input  wire [3:0]                   blocks,      // window blocks per side (1 for a convolution)
    input  wire [COL_W-1:0]             col_first,   // the tile's first channel mod TM (vector mode)
    input  wire [CH_W-1:0]              chans,       // output channels of the tile
    input  wire [3:0]                   stride,
    input  wire [3:0]                   pad,
    input  wire [3:0]                   y_first,     // -(window origin row of the tile's first output row), 0..KMAX-1
    input  wire [DIM_W-1:0]             slab_rows,
    input  wire [DIM_W-1:0]             slab_width,  // W_in
    input  wire                         in_half,
    input  wire                         w_half,
    input  wire                         out_half,
    // layer constants
    input  wire [1:0]                   mode,        // 0 convolution, 1 max pool, 2 average pool, 3 add
    input  wire [3:0]                   ksize,       // K (vector mode's window)
    input  wire [3:0]                   shift_a,     // add: left shift of operand A
    input  wire [3:0]                   shift_b,     // add: left shift of operand B
    input  wire [W-1:0]                 n_pos,
    input  wire [SHIFT_W-1:0]           base_pos,
    input  wire [SHIFT_W-1:0]           base_neg,
    input  wire [5:0]                   rq_shift,
    input  wire signed [A-1:0]          rq_lo,
    input  wire signed [A-1:0]          rq_hi,
    // buffers
    output reg                          in_rd_en,
    output reg  [KMAX*KMAX*IN_ITEM_W-1:0] in_rd_item,
    input  wire [NB*A-1:0]              in_rd_data,
    output reg                          w_rd_en,
    output reg  [W_WORD_W-1:0]          w_rd_word,
    input  wire [TN*TM*ITEM_W-1:0]      w_rd_items,
    output wire                         param_half,
    input  wire [TN*64-1:0]             params,
    output wire                         out_wr_valid,
    output wire [OUT_ITEM_W-1:0]        out_wr_item,
    output wire [TN*A-1:0]              out_wr_data,
    output reg                          data_done    // the tile's last output was written
);
    localparam KW    = (KMAX > 1) ? $clog2(KMAX) : 1;
    localparam SQ_W  = DIM_W + 2;                  // signed quotient
    localparam TAG_W = OUT_ITEM_W + 1;             // {last pixel of the tile, output item}
    localparam integer KMAX_I = KMAX, TM_I = TM;
    localparam [CH_W-1:0] TM_C = TM_I[CH_W-1:0];
    localparam REL_W = $clog2(TN + 2) + 1;          // a group relative to the tile's first
    localparam NE = KMAX * KMAX;

    // ---------------------------------------------------------------- tile registers
    reg [DIM_W-1:0] rows_q, width_q;
    reg [CH_W-1:0]  groups_q, g_first_q, g_count_q, rem_first_q;
    reg [3:0]       stride_q, pad_q, blocks_q, ksize_q;
    reg             in_half_q, w_half_q, vector_q, is_max_q, two_q;
    reg [TN*COL_W-1:0] lane_col;
    reg [TN*REL_W-1:0] lane_group;
    reg [TN-1:0]       lane_on;
    reg [KMAX*DIM_W-1:0] r_cls, w_cls;   // R[ym], Wc[xm]
    integer m;
    always @(posedge clk) begin
        if (start) begin
            rows_q <= out_rows;
            width_q <= out_width;
            groups_q <= groups;
            g_first_q <= g_first;
            g_count_q <= g_count;
            rem_first_q <= rem_first;
            stride_q <= stride;
            pad_q <= pad;
            blocks_q <= blocks;
            ksize_q <= ksize;
            in_half_q <= in_half;
            w_half_q <= w_half;
            vector_q <= (mode != 2'd0);
            is_max_q <= (mode == 2'd1);
            two_q <= (mode == 2'd3);
            for (m = 0; m < KMAX; m = m + 1) begin
                r_cls[m*DIM_W +: DIM_W] <= class_count(slab_rows, m[DIM_W-1:0]);
                w_cls[m*DIM_W +: DIM_W] <= class_count(slab_width, m[DIM_W-1:0]);
            end
            for (m = 0; m < TN; m = m + 1) begin
                {lane_group[m*REL_W +: REL_W], lane_col[m*COL_W +: COL_W]} <= lane_place(col_first, m);
                lane_on[m] <= (m < chans);
            end
        end
    end
    assign param_half = w_half_q;

    // lane i's channel, col_first + i places after the start of the tile's first group:
    // {its group relative to g_first, its column}
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
    // number of v in [0, n) with v mod KMAX == cls: ceil((n - cls) / KMAX)
    /* verilator lint_off UNUSEDSIGNAL */
    function [DIM_W-1:0] class_count(input [DIM_W-1:0] n, input [DIM_W-1:0] cls);
        reg [DIM_W:0] t;
        reg [DIM_W:0] quotient;    // < 2^DIM_W
        begin
            t = {1'b0, n} + KMAX_I[DIM_W:0] - 1'b1 - {1'b0, cls};
            quotient = t / KMAX_I[DIM_W:0];
            class_count = (n > cls) ? quotient[DIM_W-1:0] : {DIM_W{1'b0}};
        end
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */

    // ---------------------------------------------------------------- S0: step sequencer
    reg                  s0_valid;
    reg [CH_W-1:0]       g_rel, gaddr, rem;  // group - g_first; its slab group; channels from it on
    reg                  op;                 // operand
    reg [3:0]            bx, by;             // window block
    reg [DIM_W-1:0]      ox, oy;
    reg [OUT_ITEM_W-1:0] pixel;
    reg signed [SQ_W-1:0] x0q, y0q;
    reg [KW-1:0]         x0m, y0m;
    wire last_group = (g_rel + 1'b1 == g_count_q);
    wire last_op    = !two_q || op;
    wire last_bx    = (bx + 1'b1 == blocks_q);
    wire last_by    = (by + 1'b1 == blocks_q);
    wire first_step = (g_rel == {CH_W{1'b0}}) && !op && (bx == 4'd0) && (by == 4'd0);
    wire last_step  = last_group && last_op && last_bx && last_by;
    wire last_col   = (ox + 1'b1 == width_q);
    wire last_row   = (oy + 1'b1 == rows_q);
    wire tile_last  = last_step && last_col && last_row;

    // (q, m) of -p for 0 <= p < KMAX, and of (q, m) + s
    function [SQ_W+KW-1:0] neg_divmod(input [3:0] p);
        begin
            if (p == 4'd0) neg_divmod = {{SQ_W{1'b0}}, {KW{1'b0}}};
            else neg_divmod = {{SQ_W{1'b1}}, KMAX_I[KW-1:0] - p[KW-1:0]};
        end
    endfunction
    /* verilator lint_off UNUSEDSIGNAL */
    function [SQ_W+KW-1:0] advance(input signed [SQ_W-1:0] q, input [KW-1:0] r, input [3:0] s);
        reg [4:0] t, kq, rest;     // rest < KMAX
        begin
            t = {{(5-KW){1'b0}}, r} + {1'b0, s};
            kq = t / KMAX_I[4:0];
            rest = t - kq * KMAX_I[4:0];
            advance = {q + {{(SQ_W-5){1'b0}}, kq}, rest[KW-1:0]};
        end
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */

    wire [SQ_W+KW-1:0] x_start = neg_divmod(pad);
    wire [SQ_W+KW-1:0] y_start = neg_divmod(y_first);
    wire [SQ_W+KW-1:0] x_next  = advance(x0q, x0m, stride_q);
    wire [SQ_W+KW-1:0] y_next  = advance(y0q, y0m, stride_q);
    wire [SQ_W+KW-1:0] x_reset = neg_divmod(pad_q);

    always @(posedge clk) begin
        if (rst) begin
            s0_valid <= 1'b0;
        end else if (start) begin
            s0_valid <= 1'b1;
            g_rel <= {CH_W{1'b0}};
            gaddr <= g_first;
            rem <= rem_first;
            op <= 1'b0;
            bx <= 4'd0;
            by <= 4'd0;
            ox <= {DIM_W{1'b0}};
            oy <= {DIM_W{1'b0}};
            pixel <= out_half ? OUT_HALF[OUT_ITEM_W-1:0] : {OUT_ITEM_W{1'b0}};
            {x0q, x0m} <= x_start;
            {y0q, y0m} <= y_start;
        end else if (s0_valid) begin
            if (!last_group) begin
                g_rel <= g_rel + 1'b1;
                gaddr <= gaddr + 1'b1;
                rem <= rem - TM_C;
            end else begin
                g_rel <= {CH_W{1'b0}};
                rem <= rem_first_q;
                // the next operand's groups, or operand A's of the next block or pixel
                gaddr <= (!last_op) ? g_first_q + groups_q : g_first_q;
                op <= !last_op;
            end
            if (last_group && last_op) begin
                bx <= last_bx ? 4'd0 : bx + 1'b1;
                if (last_bx) by <= last_by ? 4'd0 : by + 1'b1;
            end
            if (last_step) begin
                pixel <= pixel + 1'b1;
                if (!last_col) begin
                    ox <= ox + 1'b1;
                    {x0q, x0m} <= x_next;
                end else begin
                    ox <= {DIM_W{1'b0}};
                    {x0q, x0m} <= x_reset;
                    oy <= oy + 1'b1;
                    {y0q, y0m} <= y_next;
                end
                if (last_row && last_col) s0_valid <= 1'b0;
            end
        end
    end

    // ---------------------------------------------------------------- S0 -> S1: addresses
    reg                  s1_valid, s1_first, s1_last, s1_tile_last, s1_op;
    reg [OUT_ITEM_W-1:0] s1_pixel;
    reg [NB-1:0]         s1_mask;          // bank element inside the slab and the layer's channels
    reg [KW-1:0]         s1_y0m, s1_x0m;
    reg [REL_W-1:0]      s1_group;
    reg [KMAX-1:0]       s1_krow, s1_kcol; // window rows / columns inside the pooling window
    reg signed [SQ_W-1:0] yq, xq;
    reg                  row_ok, col_ok;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [IN_ITEM_W+DIM_W-1:0] item;   // < IN_HALF for an element inside the slab
    /* verilator lint_on UNUSEDSIGNAL */
    wire [IN_ITEM_W-1:0] in_base = in_half_q ? IN_HALF[IN_ITEM_W-1:0] : {IN_ITEM_W{1'b0}};
    wire [W_WORD_W-1:0]  w_base = w_half_q ? W_HALF[W_WORD_W-1:0] : {W_WORD_W{1'b0}};
    reg [KMAX*KMAX*IN_ITEM_W-1:0] items;
    reg [NB-1:0]         mask;
    integer ym, xm, cm;
    always @(*) begin
        items = {KMAX*KMAX*IN_ITEM_W{1'b0}};
        mask = {NB{1'b0}};
        yq = {SQ_W{1'b0}};
        xq = {SQ_W{1'b0}};
        row_ok = 1'b0;
        col_ok = 1'b0;
        item = {(IN_ITEM_W+DIM_W){1'b0}};
        if (s0_valid) begin
            for (ym = 0; ym < KMAX; ym = ym + 1) begin
                for (xm = 0; xm < KMAX; xm = xm + 1) begin
                    yq = y0q + {{(SQ_W-4){1'b0}}, by} + ((ym[KW-1:0] < y0m) ? 1 : 0);
                    xq = x0q + {{(SQ_W-4){1'b0}}, bx} + ((xm[KW-1:0] < x0m) ? 1 : 0);
                    row_ok = !yq[SQ_W-1] && (yq[DIM_W-1:0] < r_cls[ym*DIM_W +: DIM_W]);
                    col_ok = !xq[SQ_W-1] && (xq[DIM_W-1:0] < w_cls[xm*DIM_W +: DIM_W]);
                    item = ({{DIM_W{1'b0}}, gaddr[IN_ITEM_W-1:0]} * {{IN_ITEM_W{1'b0}}, r_cls[ym*DIM_W +: DIM_W]}
                            + {{IN_ITEM_W{1'b0}}, yq[DIM_W-1:0]}) * {{IN_ITEM_W{1'b0}}, w_cls[xm*DIM_W +: DIM_W]}
                           + {{IN_ITEM_W{1'b0}}, xq[DIM_W-1:0]};
                    items[(ym*KMAX + xm)*IN_ITEM_W +: IN_ITEM_W] = (row_ok && col_ok) ? in_base + item[IN_ITEM_W-1:0] : in_base;
                    for (cm = 0; cm < TM; cm = cm + 1)
                        mask[(cm*KMAX + ym)*KMAX + xm] = row_ok && col_ok && (cm < rem);
                end
            end
        end
    end

    always @(posedge clk) begin
        if (rst) begin
            s1_valid <= 1'b0;
            in_rd_en <= 1'b0;
            w_rd_en <= 1'b0;
        end else begin
            s1_valid <= s0_valid;
            in_rd_en <= s0_valid;
            w_rd_en <= s0_valid;
        end
        s1_first <= first_step;
        s1_last <= last_step;
        s1_tile_last <= tile_last;
        s1_pixel <= pixel;
        s1_mask <= mask;
        s1_y0m <= y0m;
        s1_x0m <= x0m;
        s1_op <= op;
        s1_group <= g_rel[REL_W-1:0];
        for (m = 0; m < KMAX; m = m + 1) begin
            s1_krow[m] <= ({1'b0, by} * KMAX_I[4:0] + m[4:0] < {1'b0, ksize_q});
            s1_kcol[m] <= ({1'b0, bx} * KMAX_I[4:0] + m[4:0] < {1'b0, ksize_q});
        end
        in_rd_item <= items;
        w_rd_word <= w_base + gaddr[W_WORD_W-1:0];
    end

    // ---------------------------------------------------------------- S2: operands
    reg                  s2_valid, s2_first, s2_last, s2_tile_last, s2_op;
    reg [OUT_ITEM_W-1:0] s2_pixel;
    reg [NB-1:0]         s2_mask;
    reg [KW-1:0]         s2_y0m, s2_x0m;
    reg [REL_W-1:0]      s2_group;
    reg [KMAX-1:0]       s2_krow, s2_kcol;
    always @(posedge clk) begin
        s2_valid <= rst ? 1'b0 : s1_valid;
        s2_first <= s1_first;
        s2_last <= s1_last;
        s2_tile_last <= s1_tile_last;
        s2_pixel <= s1_pixel;
        s2_mask <= s1_mask;
        s2_y0m <= s1_y0m;
        s2_x0m <= s1_x0m;
        s2_op <= s1_op;
        s2_group <= s1_group;
        s2_krow <= s1_krow;
        s2_kcol <= s1_kcol;
    end

    // window element (dy, dx) of column cm comes from bank (cm, (y0m + dy) mod K, (x0m + dx) mod K)
    reg [TM*KMAX*KMAX*A-1:0] windows;
    reg [TM*NE-1:0]          valid_elems;   // inside the slab, the channels and the pooling window
    integer c, dy, dx, bank;
    reg [KW:0] sy, sx;
    always @(*) begin
        windows = {TM*KMAX*KMAX*A{1'b0}};
        valid_elems = {TM*NE{1'b0}};
        sy = {(KW+1){1'b0}};
        sx = {(KW+1){1'b0}};
        bank = 0;
        if (s2_valid) begin
            for (c = 0; c < TM; c = c + 1) begin
                for (dy = 0; dy < KMAX; dy = dy + 1) begin
                    for (dx = 0; dx < KMAX; dx = dx + 1) begin
                        sy = {1'b0, s2_y0m} + dy[KW:0];
                        if (sy >= KMAX_I[KW:0]) sy = sy - KMAX_I[KW:0];
                        sx = {1'b0, s2_x0m} + dx[KW:0];
                        if (sx >= KMAX_I[KW:0]) sx = sx - KMAX_I[KW:0];
                        bank = (c * KMAX + {{(32-KW-1){1'b0}}, sy}) * KMAX + {{(32-KW-1){1'b0}}, sx};
                        windows[((c*KMAX + dy)*KMAX + dx)*A +: A] = s2_mask[bank] ? in_rd_data[bank*A +: A] : {A{1'b0}};
                        valid_elems[(c*KMAX + dy)*KMAX + dx] = s2_mask[bank] && s2_krow[dy] && s2_kcol[dx];
                    end
                end
            end
        end
    end

    reg [TM*KMAX*KMAX*A-1:0] op_windows;
    reg [TM*NE-1:0]          op_elems;
    reg [TN*TM*ITEM_W-1:0]   op_items;
    reg                      op_valid, op_first, op_last, op_operand;
    reg [REL_W-1:0]          op_group;
    reg [TAG_W-1:0]          op_tag;
    always @(posedge clk) begin
        op_windows <= windows;
        op_elems <= valid_elems;
        op_items <= w_rd_items;
        op_valid <= rst ? 1'b0 : s2_valid;
        op_first <= s2_first;
        op_last <= s2_last;
        op_operand <= s2_op;
        op_group <= s2_group;
        op_tag <= {s2_tile_last, s2_pixel};
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
        .n_pos(n_pos), .base_pos(base_pos), .base_neg(base_neg),
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
    wire                  acc_valid = pe_valid || vec_valid;
    wire [TAG_W-1:0]      acc_tag = vector_q ? vec_tag : pe_tag;
    wire [TN*ACC_W-1:0]   acc_sums = vector_q ? vec_sums : pe_sums;

    wire [TN-1:0]      rq_valid;
    reg  [2*TAG_W-1:0] rq_tag;     // the tag through the requantization latency (2)
    always @(posedge clk) rq_tag <= {rq_tag[TAG_W-1:0], acc_tag};
    genvar i;
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_lane
            requant #(.ACC_W(ACC_W), .A(A)) u_rq (
                .clk(clk), .rst(rst), .in_valid(acc_valid),
                .acc(acc_sums[i*ACC_W +: ACC_W]),
                // max pooling is not requantized: multiplier 1, bias 0 (and shift 0 in its descriptor)
                .multiplier(is_max_q ? 16'sd1 : params[i*64 +: 16]),
                .bias(is_max_q ? 48'sd0 : params[i*64 + 16 +: 48]),
                .shift(rq_shift), .lo(rq_lo), .hi(rq_hi),
                .out_valid(rq_valid[i]), .y(out_wr_data[i*A +: A])
            );
        end
    endgenerate
    assign out_wr_valid = &rq_valid;   // the lanes run in lockstep
    assign out_wr_item  = rq_tag[TAG_W +: OUT_ITEM_W];
    always @(posedge clk) data_done <= !rst && out_wr_valid && rq_tag[2*TAG_W-1];
endmodule
