// The layer controller: walks a layer's tiles (a convolution or linear layer, or in vector mode a
// pooling or residual add, docs/microarchitecture.md sections 5 and 6) and drives the engines by
// the rules of section 8. All decisions are combinational functions of registered state (done
// flags are registered and visible in the cycle their activity ends); the conditions of rule 2
// and whether each load engine is free are themselves kept in registers, computed a cycle ahead
// from the next state, so that a decision is a few gates deep:
//
//   1. Load j = 0 of each stream is started at the layer start; load j+1 when the first tile
//      reading load j starts computing. Input load j is row group j (read by its N tiles; an add
//      loads its two operands as two transfers); weight load j is tile j's channel group (N > 1),
//      or the only one (N = 1). Max pooling has no weight stream.
//   2. Tile t starts when tile t-1 has ended, its loads have ended and output half t mod 2 is
//      free (the store of tile t-2 has ended); it holds the PE datapath until D - 1 cycles after
//      the datapath issues its last step (steps + D cycles in all).
//   4. The store of tile t starts when tile t has ended and the store of tile t-1 has ended.
//   5. The layer ends when its last store ends: `layer_ending` is high in the cycle of its last
//      beat, so the next layer can start in the cycle the store ends.
//
// Geometry by running sums (no multiplier: the descriptor carries every product the layer
// needs). Row group r's windows start at input row u_r = floor(r*Tr*a/d) - pad (a, d: the row
// windows' step and denominator; a = stride, d = 1 for a convolution), kept as a quotient
// stepped by tr_rows = (Tr*a) div d plus a carry of the remainder (t_rem = (Tr*a) mod d); in
// bytes of the input map (rows of row_bytes) U_r = u_r*row_bytes. Its windows span
// floor((rem + (Tr-1)*a + b)/d) rows: span_bytes, or one row more when the remainder is at least
// span_thr. Its load moves the bytes [max(U_r, 0), min(U_r + span, end_bytes)) of the map: one
// contiguous run.
//
// A grouped convolution's tile reads the input channels of its outputs' groups: they start at
// channel lo, which steps by the descriptor's c_step (c_step_blk bytes of whole blocks and
// c_step_slice channels) every c_per tiles of a row group; the tile reads `groups` input-channel
// groups (`groups_last` for the last channel group), and its weight transfer is w_bytes
// (w_bytes_last).
module controller #(
    parameter TN      = 8,
    parameter TM      = 4,
    parameter BEAT    = 8,
    parameter PIPE_D  = 16,
    parameter DIM_W   = 12,
    parameter CH_W    = 16,
    parameter ADDR_W  = 32,
    parameter BEATS_W = 24,
    parameter OFF_W   = 24,     // bits of a signed byte offset within the input buffer's half
    parameter STAMP_W = 32,
    parameter IDX_W   = 24,
    parameter COL_W   = (TM > 1) ? $clog2(TM) : 1
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [STAMP_W-1:0] now,
    input  wire               layer_start,
    output wire               layer_ending,
    // layer descriptor
    input  wire [CH_W-1:0]    c_out,
    input  wire [DIM_W-1:0]   h_out,
    input  wire [DIM_W-1:0]   tile_rows,
    input  wire [7:0]         pad,
    input  wire [DIM_W-1:0]   y_den,      // the row windows' denominator d
    input  wire [DIM_W-1:0]   t_rem,      // (Tr * a) mod d
    input  wire [DIM_W-1:0]   span_thr,   // a row group spans one more row from this remainder
    input  wire [ADDR_W-1:0]  in_row_bytes,
    input  wire [CH_W-1:0]    groups,     // convolution: input-channel groups of a tile
    input  wire [CH_W-1:0]    groups_last,
    input  wire [CH_W-1:0]    c_per,      // grouped convolution: tiles per step of the first channel (0: never)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [ADDR_W-1:0]  c_step_blk,     // < 2^OFF_W
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [CH_W-1:0]    c_step_slice,
    input  wire [ADDR_W-1:0]  w_bytes_last,
    input  wire [BEATS_W-1:0] w_words,        // step-word beats of a weight transfer
    input  wire [BEATS_W-1:0] w_words_last,
    input  wire [1:0]         mode,       // 0 convolution or linear, 1 max pool, 2 average pool, 3 add
    input  wire [ADDR_W-1:0]  in_base,
    input  wire [ADDR_W-1:0]  in2_base,   // an add's operand B
    input  wire [ADDR_W-1:0]  w_base,
    input  wire [ADDR_W-1:0]  out_base,
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [ADDR_W-1:0]  pad_bytes,  // pad * row_bytes
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [ADDR_W-1:0]  tr_bytes,   // tr_rows * row_bytes
    input  wire [ADDR_W-1:0]  span_bytes, // ((Tr - 1) * a + b) div d * row_bytes
    input  wire [ADDR_W-1:0]  end_bytes,  // min(H_in, end of the last window) * row_bytes
    input  wire [DIM_W-1:0]   tr_rows,    // (Tr * a) div d
    input  wire [ADDR_W-1:0]  in0_bytes,  // load 0: its bytes (it starts at U_0 = -pad_bytes)
    input  wire [BEATS_W-1:0] in0_beats,  // and beats
    input  wire [ADDR_W-1:0]  in1_u,      // load 1: its first window row U_1 in map bytes (signed)
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [31:0]        in1_rows,   // u_1 (signed)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [DIM_W-1:0]   in1_rem,    // its remainder
    /* verilator lint_off UNUSEDSIGNAL */
    input  wire [ADDR_W-1:0]  in_blk_bytes, // W_in * TN: one block's row (< 2^OFF_W)
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [ADDR_W-1:0]  w_bytes,    // a weight transfer (whole beats)
    input  wire [ADDR_W-1:0]  out_seg_bytes,
    input  wire [ADDR_W-1:0]  out_tr_bytes,
    input  wire [BEATS_W-1:0] st_beats,       // a store of Tr rows
    input  wire [BEATS_W-1:0] st_beats_last,  // a store of the last row group
    // input DMA
    output wire               in_start,
    output wire               in_half,
    output wire [ADDR_W-1:0]  in_addr,
    output wire [ADDR_W-1:0]  in_addr2,   // operand B's rows (an add)
    output wire               in_two,     // the load has two transfers (an add)
    output wire [ADDR_W-1:0]  in_bytes,
    output wire [BEATS_W-1:0] in_beats,
    output wire [IDX_W-1:0]   in_tile,
    input  wire               in_done_raw,
    input  wire               in_ending,     // the input job's last beat is in this cycle
    // weight DMA
    output wire               w_start,
    output wire               w_half,
    output wire [ADDR_W-1:0]  w_addr,
    output wire [BEATS_W-1:0] w_beats,
    output wire [ADDR_W-1:0]  w_job_bytes,    // bytes of this weight transfer
    output wire [BEATS_W-1:0] w_job_words,    // its step-word beats
    output wire [IDX_W-1:0]   w_tile,
    input  wire               w_done_raw,
    input  wire               w_ending,
    // store DMA
    output wire               st_start,
    output wire [ADDR_W-1:0]  st_addr,
    output wire [BEATS_W-1:0] st_bps,
    output wire [BEATS_W-1:0] st_total,
    output wire [IDX_W-1:0]   st_tile,
    input  wire               st_done_raw,
    input  wire               st_ending,
    output wire               pf_ready,
    output wire               pf_half,
    output wire [DIM_W-1:0]   pf_rows,
    input  wire               pf_done,
    // PE datapath
    output wire               pe_start,
    output wire [DIM_W-1:0]   pe_rows,
    output wire [DIM_W+1:0]   pe_y_first,    // input row of the tile's first window (signed)
    output wire [OFF_W-1:0]   pe_row_off,    // its byte offset in the input half (signed, <= 0)
    output wire [OFF_W-1:0]   pe_opb_off,    // where operand B starts in the input half
    output wire [OFF_W-1:0]   pe_blk_first,  // vector mode: the tile's first channel block
    output wire [CH_W-1:0]    pe_chans,      // output channels of the tile
    output wire [COL_W-1:0]   pe_col_first,  // vector mode: the tile's first channel mod TM
    output wire [OFF_W-1:0]   pe_slice_first, // convolution: the first input group's channel in its block
    output wire [CH_W-1:0]    pe_groups,     // convolution: input-channel groups of the tile
    output wire [DIM_W-1:0]   pe_y_rem,      // remainder of the tile's first window row
    output wire               pe_in_half,
    output wire               pe_w_half,
    output wire               pe_out_half,
    input  wire               pe_last_issue, // the datapath issues the tile's last step
    input  wire               pe_data_done,
    // trace of the PE datapath: a tile ended this cycle
    output reg                pe_trace_valid,
    output reg  [IDX_W-1:0]   pe_trace_tile,
    output reg  [STAMP_W-1:0] pe_trace_start
);
    localparam integer TN_I = TN, D_I = PIPE_D, BEAT_I = BEAT;
    localparam TN_B = (TN > 1) ? $clog2(TN) : 0;
    localparam BEAT_B = (BEAT > 1) ? $clog2(BEAT) : 0;
    localparam integer M_I = (TM > TN) ? TM / TN : 1;    // blocks per input group
    localparam [7:0] D_LAST = D_I[7:0] - 8'd1;
    localparam [ADDR_W-1:0] BEAT_MASK = BEAT_I - 1;

    // ------------------------------------------------------------ layer kind
    wire has_w  = (mode != 2'd1);     // max pooling loads no parameters
    assign in_two = (mode == 2'd3);

    wire [IDX_W-1:0] groups_n = {{(IDX_W-CH_W){1'b0}}, (c_out + TN_I[CH_W-1:0] - 1'b1) >> TN_B};
    wire             multi_n  = (groups_n > {{(IDX_W-1){1'b0}}, 1'b1});

    reg  running;
    wire run   = running || layer_start;
    wire clear = rst || layer_ending;
    // a job's done pulse comes in the cycle its last request ends; the previous layer's last store
    // ends in the cycle this layer starts (running is still low), so that pulse is not ours
    wire in_done = in_done_raw && running;
    wire w_done  = w_done_raw && running;
    wire st_done = st_done_raw && running;

    // ------------------------------------------------------------ walkers
    // (each walker has every output; not every walker needs all of them)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [IDX_W-1:0] t_index, t_group, in_index, in_group, wt_index, wt_group, st_index, st_group, pf_index, pf_group;
    wire             t_first, in_first, wt_first, st_first, pf_first;   // first channel group
    wire             t_first_n, in_first_n, wt_first_n, st_first_n, pf_first_n;   // the flags in the next cycle
    wire             t_lastn_n, t_lastr_n, in_lastn_n, in_lastr_n, wt_lastn_n, wt_lastr_n;
    wire             st_lastn_n, st_lastr_n, pf_lastn_n, pf_lastr_n;
    wire             t_lastn, t_lastr, in_lastn, in_lastr, wt_lastn, wt_lastr, st_lastn, st_lastr, pf_lastn, pf_lastr;
    wire [DIM_W-1:0] t_rows, in_rows_out, wt_rows, st_rows, pf_rows_out;
    wire [CH_W-1:0]  t_chans, in_chans, wt_chans, st_chans, pf_chans;
    /* verilator lint_on UNUSEDSIGNAL */
    wire in_next, wt_next, st_next, pf_next;
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_tiles (
        .clk(clk), .clear(clear), .next_tile(pe_start), .next_row(1'b0), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(t_index),
        .row_group(t_group), .first_group(t_first), .last_group(t_lastn),
        .last_row(t_lastr), .rows(t_rows), .chans(t_chans),
        .first_group_n(t_first_n), .last_group_n(t_lastn_n), .last_row_n(t_lastr_n));
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_inputs (
        .clk(clk), .clear(clear), .next_tile(1'b0), .next_row(in_next), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(in_index),
        .row_group(in_group), .first_group(in_first), .last_group(in_lastn),
        .last_row(in_lastr), .rows(in_rows_out), .chans(in_chans),
        .first_group_n(in_first_n), .last_group_n(in_lastn_n), .last_row_n(in_lastr_n));
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_weights (
        .clk(clk), .clear(clear), .next_tile(wt_next), .next_row(1'b0), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(wt_index),
        .row_group(wt_group), .first_group(wt_first), .last_group(wt_lastn),
        .last_row(wt_lastr), .rows(wt_rows), .chans(wt_chans),
        .first_group_n(wt_first_n), .last_group_n(wt_lastn_n), .last_row_n(wt_lastr_n));
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_stores (
        .clk(clk), .clear(clear), .next_tile(st_next), .next_row(1'b0), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(st_index),
        .row_group(st_group), .first_group(st_first), .last_group(st_lastn),
        .last_row(st_lastr), .rows(st_rows), .chans(st_chans),
        .first_group_n(st_first_n), .last_group_n(st_lastn_n), .last_row_n(st_lastr_n));
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_prefetch (
        .clk(clk), .clear(clear), .next_tile(pf_next), .next_row(1'b0), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(pf_index),
        .row_group(pf_group), .first_group(pf_first), .last_group(pf_lastn),
        .last_row(pf_lastr), .rows(pf_rows_out), .chans(pf_chans),
        .first_group_n(pf_first_n), .last_group_n(pf_lastn_n), .last_row_n(pf_lastr_n));

    // ------------------------------------------------------------ progress counters
    // Progress is kept as differences of counters, each bounded by a double buffer (at most 3
    // apart; LEAD_W bits hold -16 .. 15), so that every rule below tests a short register, not a
    // sum and a comparison:
    //   in_lead = input loads ended - t_group    w_lead = weight loads ended - (N > 1 ? t : 0)
    //   out_gap = t_index - stores ended         st_lead = tiles ended - st_index
    //   pf_lead = tiles whose outputs are written - pf_index
    localparam LEAD_W = 5;
    reg signed [LEAD_W-1:0] in_lead, w_lead, out_gap, st_lead, pf_lead;
    reg             tiles_all, stores_all, in_all, w_all, pf_all;   // everything started
    reg             in_busy, w_busy, st_busy, pe_busy, pe_tail;
    reg             in_pending, w_pending;
    reg [7:0]       pe_left;
    // the tile's last busy cycle (no step of the next tile is issued before it)
    wire            tile_ends = pe_tail && (pe_left == 8'd1);
    localparam signed [LEAD_W-1:0] ZERO = 0, ONE = 1, TWO = 2;
    // a difference after a cycle: one more (up), one less (down)
    function signed [LEAD_W-1:0] step(input signed [LEAD_W-1:0] value, input up, input down);
        step = value + (up ? ONE : ZERO) - (down ? ONE : ZERO);
    endfunction

    // rule 2: the next tile (the previous tile has ended; its loads have ended, counting those
    // ending now; output half free: the store of tile t-2 has ended). Rule 2 is registered:
    // computed a cycle ahead from the next values of the state it tests and the done pulses of
    // the next cycle (an engine's done flag is its `job_ending` of the cycle before), so that
    // the compute start is a gate from registers and the chain compute start -> load start ->
    // DDR request -> grant begins at flip-flops. (In the layer's first cycle no tile may start:
    // its first loads are not done, and `tile_ready` is low then whatever the descriptor.)
    function ready(input signed [LEAD_W-1:0] lead, input done);
        ready = (lead > ZERO) || (done && lead == ZERO);
    endfunction
    wire                    last_tile = t_lastn && t_lastr;
    wire                    running_n = !clear && run;
    wire signed [LEAD_W-1:0] in_lead_n = clear ? ZERO : step(in_lead, in_done, pe_start && t_lastn);
    wire signed [LEAD_W-1:0] w_lead_n  = clear ? ZERO : step(w_lead, w_done, pe_start && multi_n);
    wire signed [LEAD_W-1:0] out_gap_n = clear ? ZERO : step(out_gap, pe_start, st_done);
    // (a tile's last step is issued before its tail, so `tile_ends` never meets `pe_last_issue`)
    wire                    pe_busy_n   = !clear && (pe_busy || pe_start) && !tile_ends;
    wire                    tiles_all_n = !clear && (tiles_all || (pe_start && last_tile));
    reg                     tile_ready;
    always @(posedge clk)
        tile_ready <= !pe_busy_n && !tiles_all_n && ready(in_lead_n, in_ending && running_n)
                   && (!has_w || ready(w_lead_n, w_ending && running_n))
                   && ((out_gap_n <= ONE) || (st_ending && running_n && out_gap_n == TWO));
    assign pe_start = run && tile_ready;

    // rule 1: load triggers. Whether a load engine is free (not every load started; not busy, or
    // its load ending now) and whether the compute start arms a trigger (the tile's flags) are
    // registered a cycle ahead like rule 2's conditions, so that a load's start, and the DDR
    // request and grant behind it, are a few gates from registers. (The armed flags are not
    // those of the layer's first cycle, but no tile starts then: its first loads are not done.)
    wire in_all_n  = !clear && (in_all || (in_start && in_lastr));
    wire in_busy_n = !clear && (in_start || (in_busy && !in_done));
    wire w_all_n   = !clear && (w_all || (w_start && (!multi_n || (wt_lastn && wt_lastr))));
    wire w_busy_n  = !clear && (w_start || (w_busy && !w_done));
    reg  in_free, w_free, in_arm, w_arm;
    always @(posedge clk) begin
        in_free <= !in_all_n && (!in_busy_n || (in_ending && running_n));
        w_free  <= !w_all_n && (!w_busy_n || (w_ending && running_n));
        in_arm  <= t_first_n && !t_lastr_n;
        w_arm   <= multi_n && !(t_lastn_n && t_lastr_n);
    end
    wire in_trigger = layer_start || (pe_start && in_arm);
    wire w_trigger  = has_w && (layer_start || (pe_start && w_arm));
    assign in_start = run && in_free && (in_pending || in_trigger);
    assign w_start  = run && w_free && (w_pending || w_trigger);
    assign in_next  = in_start;
    assign wt_next  = w_start && multi_n;

    // rule 4: stores
    assign st_start = run && !stores_all && (!st_busy || st_done) && (st_lead > ZERO);
    assign st_next  = st_start;
    // the last store ends (a cycle after its start at the earliest)
    assign layer_ending = st_ending && st_busy && stores_all;

    // prefetch of the store data: a tile whose outputs are all written
    assign pf_ready = run && !pf_all && (pf_lead > ZERO);
    assign pf_next  = pf_done;

    always @(posedge clk) begin
        pe_trace_valid <= 1'b0;
        if (clear) begin
            running <= 1'b0;
            {in_lead, w_lead, out_gap, st_lead, pf_lead} <= {(5*LEAD_W){1'b0}};
            {tiles_all, stores_all, in_all, w_all, pf_all} <= 5'b0;
            {in_busy, w_busy, st_busy, pe_busy, pe_tail} <= 5'b0;
            {in_pending, w_pending} <= 2'b0;
        end else begin
            if (layer_start) running <= 1'b1;
            in_lead <= in_lead_n;
            w_lead  <= w_lead_n;
            out_gap <= out_gap_n;
            st_lead <= step(st_lead, tile_ends, st_start);
            pf_lead <= step(pf_lead, pe_data_done, pf_done);
            // input loads
            in_busy <= in_busy_n;
            in_all  <= in_all_n;
            in_pending <= (in_pending || in_trigger) && !in_start && run;
            // weight loads
            w_busy <= w_busy_n;
            w_all  <= w_all_n;
            w_pending <= (w_pending || w_trigger) && !w_start && run;
            // tiles: busy from the start to D - 1 cycles after the last step is issued
            pe_busy   <= pe_busy_n;
            tiles_all <= tiles_all_n;
            if (pe_start) begin
                pe_trace_start <= now;
                pe_trace_tile <= t_index;
            end
            if (pe_last_issue) begin
                pe_tail <= 1'b1;
                pe_left <= D_LAST;
            end else if (pe_tail) begin
                pe_left <= pe_left - 1'b1;
                if (tile_ends) begin
                    pe_tail <= 1'b0;
                    pe_trace_valid <= 1'b1;
                end
            end
            if (pf_done && pf_lastn && pf_lastr) pf_all <= 1'b1;
            // stores
            if (st_start) begin
                st_busy <= 1'b1;
                if (st_lastn && st_lastr) stores_all <= 1'b1;
            end else if (st_done) st_busy <= 1'b0;
        end
    end

    // ------------------------------------------------------------ input loads: row group in_group
    // A load's fields are registered one load ahead, so that no arithmetic lies between the
    // controller's state and the DMA's request: in the cycle load j starts, the registers `ld_*`
    // take load j+1's fields, computed from the registers `nx_*` (the first window row of load
    // j+1: U, u, its remainder and whether its windows span one row more), and `nx_*` step to load
    // j+2. Load 0 starts in the layer's first cycle with the descriptor's in0_* fields; load 1's
    // position is the descriptor's in1_*. The length of a load whose first row is U is, with S
    // its span (span_bytes, + in_row_bytes when wide) and E = end_bytes:
    //     U >= 0, U + S < E: S        U < 0, U + S < E: U + S
    //     U >= 0, U + S >= E: E - U   U < 0, U + S >= E: E
    // four sums formed side by side from the registers, then chosen (each one adder deep).
    wire                   fresh     = layer_start && !running;   // the layer's first cycle
    reg  [ADDR_W-1:0]      ld_top_q, ld_bytes_q;
    reg  [BEATS_W-1:0]     ld_beats_q;
    reg  [OFF_W-1:0]       ld_row_off_q;
    reg  signed [DIM_W+1:0] ld_urows_q;
    reg  [DIM_W-1:0]       ld_rem_q;
    reg  signed [ADDR_W:0] nx_u_q;
    reg  signed [DIM_W+1:0] nx_urows_q;
    reg  [DIM_W-1:0]       nx_rem_q;
    reg                    nx_wide_q;
    // the load starting now
    wire [ADDR_W-1:0]      in_top   = fresh ? {ADDR_W{1'b0}} : ld_top_q;   // U_0 = -pad_bytes <= 0
    wire [ADDR_W-1:0]      in_len   = fresh ? in0_bytes : ld_bytes_q;
    wire signed [DIM_W+1:0] in_urows = fresh ? -$signed({{(DIM_W-6){1'b0}}, pad}) : ld_urows_q;
    wire [DIM_W-1:0]       in_rem   = fresh ? {DIM_W{1'b0}} : ld_rem_q;
    wire [OFF_W-1:0]       in_row_off = fresh ? -pad_bytes[OFF_W-1:0] : ld_row_off_q;
    assign in_bytes = in_len;
    assign in_beats = fresh ? in0_beats : ld_beats_q;
    assign in_addr  = in_base + in_top;
    assign in_addr2 = in2_base + in_top;
    assign in_half  = in_group[0];
    assign in_tile  = in_index;
    // the load after it (load 1 in the layer's first cycle)
    wire signed [ADDR_W:0] nu     = fresh ? $signed({in1_u[ADDR_W-1], in1_u}) : nx_u_q;
    wire signed [DIM_W+1:0] nurows = fresh ? $signed(in1_rows[DIM_W+1:0]) : nx_urows_q;
    wire [DIM_W-1:0]       nrem   = fresh ? in1_rem : nx_rem_q;
    wire                   nwide  = fresh ? (in1_rem >= span_thr) : nx_wide_q;
    wire [ADDR_W-1:0]      span_w = nwide ? span_bytes + in_row_bytes : span_bytes;    // S
    wire [ADDR_W-1:0]      end_b  = end_bytes;                                         // E
    wire                   n_neg  = nu[ADDR_W];
    wire signed [ADDR_W+1:0] n_over = nu + $signed({2'b00, span_w}) - $signed({2'b00, end_b});
    wire                   n_clip = !n_over[ADDR_W+1];                                  // U + S >= E
    wire [BEATS_W-1:0]     nu_b   = nu[BEATS_W-1:0];
    wire [BEATS_W-1:0]     span_b = span_w[BEATS_W-1:0], end_bb = end_b[BEATS_W-1:0];
    wire [BEATS_W-1:0]     mask_b = BEAT_MASK[BEATS_W-1:0];
    reg  [ADDR_W-1:0]      n_bytes;
    reg  [BEATS_W-1:0]     n_beats_up;     // the length plus BEAT - 1, modulo 2^BEATS_W
    always @(*) begin
        case ({n_neg, n_clip})
            2'b00: begin n_bytes = span_w;                    n_beats_up = span_b + mask_b; end
            2'b10: begin n_bytes = nu[ADDR_W-1:0] + span_w;   n_beats_up = nu_b + span_b + mask_b; end
            2'b01: begin n_bytes = end_b - nu[ADDR_W-1:0];    n_beats_up = end_bb + mask_b - nu_b; end
            default: begin n_bytes = end_b;                   n_beats_up = end_bb + mask_b; end
        endcase
    end
    // the step to the next row group: U += tr_bytes (+ a row when the remainder wraps). The
    // remainder r becomes r + t_rem, less d when that reaches d; both tests are compares of r
    // with thresholds of the descriptor (still in a layer), side by side: the wrap (r >= d -
    // t_rem) and, for either outcome, whether the next group's windows span one row more
    // (r + t_rem >= span_thr, or r + t_rem - d >= span_thr)
    localparam RS_W = DIM_W + 3;
    wire signed [RS_W-1:0] r_s      = $signed({3'b000, nrem});
    wire signed [RS_W-1:0] wrap_at  = $signed({3'b000, y_den}) - $signed({3'b000, t_rem});
    wire signed [RS_W-1:0] wide_at  = $signed({3'b000, span_thr}) - $signed({3'b000, t_rem});
    wire signed [RS_W-1:0] wide_at2 = wide_at + $signed({3'b000, y_den});
    wire                   rem_wrap = (r_s >= wrap_at);
    wire [DIM_W-1:0]       rem_next = rem_wrap ? nrem - wrap_at[DIM_W-1:0] : nrem + t_rem;
    wire                   wide_next = rem_wrap ? (r_s >= wide_at2) : (r_s >= wide_at);
    wire signed [ADDR_W:0] u_step   = nu + $signed({1'b0, tr_bytes});
    wire signed [ADDR_W:0] u_wrap   = nu + $signed({1'b0, tr_bytes}) + $signed({1'b0, in_row_bytes});
    always @(posedge clk) begin
        if (in_start) begin
            ld_top_q <= n_neg ? {ADDR_W{1'b0}} : nu[ADDR_W-1:0];
            ld_row_off_q <= n_neg ? nu[OFF_W-1:0] : {OFF_W{1'b0}};
            ld_bytes_q <= n_bytes;
            ld_beats_q <= n_beats_up >> BEAT_B;
            ld_urows_q <= nurows;
            ld_rem_q <= nrem;
            nx_u_q <= rem_wrap ? u_wrap : u_step;
            nx_urows_q <= nurows + $signed({2'b00, tr_rows}) + (rem_wrap ? 1 : 0);
            nx_rem_q <= rem_next;
            nx_wide_q <= wide_next;
        end
    end

    // what the tiles of each input half need: their first window row and its remainder, its
    // byte offset from the half's first row, and operand B's place (a whole beat after operand A)
    reg signed [DIM_W+1:0] half_y [0:1];
    reg [DIM_W-1:0]        half_rem [0:1];
    reg [OFF_W-1:0]        half_row_off [0:1];
    reg [OFF_W-1:0]        half_opb [0:1];
    always @(posedge clk) begin
        if (in_start) begin
            half_y[in_half] <= in_urows;
            half_rem[in_half] <= in_rem;
            half_row_off[in_half] <= in_row_off;
            half_opb[in_half] <= in_beats[OFF_W-1:0] << BEAT_B;
        end
    end

    // ------------------------------------------------------------ weight loads
    reg  [ADDR_W-1:0] w_offset;          // bytes of the channel groups before the weight walker's
    reg  [IDX_W-1:0]  w_started;
    always @(posedge clk) begin
        if (clear) begin
            w_offset <= {ADDR_W{1'b0}};
            w_started <= {IDX_W{1'b0}};
        end else if (w_start) begin
            w_started <= w_started + 1'b1;
            w_offset <= (wt_lastn || !multi_n) ? {ADDR_W{1'b0}} : w_offset + w_bytes;
        end
    end
    // the last channel group's transfer (a grouped convolution's may read fewer input groups)
    wire w_last_job = multi_n ? wt_lastn : 1'b1;
    assign w_job_bytes = w_last_job ? w_bytes_last : w_bytes;
    assign w_job_words = w_last_job ? w_words_last : w_words;
    assign w_addr  = w_base + w_offset;
    assign w_beats = w_job_bytes[BEATS_W-1:0] >> BEAT_B;
    assign w_half  = w_started[0];
    assign w_tile  = multi_n ? wt_index : {IDX_W{1'b0}};

    // ------------------------------------------------------------ tile t_index
    // vector mode: the tile's first channel block (TM <= TN: block n; else the group's first)
    reg [OFF_W-1:0] t_blk, t_blk_group;
    reg [7:0]       t_mod;               // n mod (TM / TN)
    always @(posedge clk) begin
        if (clear || layer_start || (pe_start && t_lastn)) begin
            t_blk <= {OFF_W{1'b0}};
            t_blk_group <= {OFF_W{1'b0}};
            t_mod <= 8'd0;
        end else if (pe_start) begin
            t_blk <= t_blk + in_blk_bytes[OFF_W-1:0];
            if (t_mod + 1'b1 == M_I[7:0]) begin
                t_mod <= 8'd0;
                t_blk_group <= t_blk + in_blk_bytes[OFF_W-1:0];
            end else begin
                t_mod <= t_mod + 1'b1;
            end
        end
    end
    // convolution: the first input channel of the tile's groups (a grouped convolution's steps
    // every c_per tiles of the row group by c_step)
    reg [OFF_W-1:0] c_blk;               // its block, in bytes of a block row
    reg [CH_W-1:0]  c_slice, c_count;    // its channel in the block; tiles since the last step
    wire [CH_W-1:0] c_wrap_at = TN_I[CH_W-1:0] - c_step_slice;   // c_step_slice < TN
    wire            c_wrap = (c_slice >= c_wrap_at);              // the step crosses into the next block
    wire [OFF_W-1:0] c_blk_step = c_blk + c_step_blk[OFF_W-1:0];
    always @(posedge clk) begin
        if (clear || layer_start || (pe_start && t_lastn)) begin
            c_blk <= {OFF_W{1'b0}};
            c_slice <= {CH_W{1'b0}};
            c_count <= {CH_W{1'b0}};
        end else if (pe_start && c_per != {CH_W{1'b0}}) begin
            if (c_count + 1'b1 == c_per) begin
                c_count <= {CH_W{1'b0}};
                c_blk <= c_wrap ? c_blk_step + in_blk_bytes[OFF_W-1:0] : c_blk_step;
                c_slice <= c_wrap ? c_slice - c_wrap_at : c_slice + c_step_slice;
            end else begin
                c_count <= c_count + 1'b1;
            end
        end
    end
    wire conv_mode = (mode == 2'd0);
    assign pe_slice_first = {{(OFF_W-CH_W){1'b0}}, c_slice};
    assign pe_groups    = t_lastn ? groups_last : groups;
    assign pe_y_rem     = half_rem[t_group[0]];
    assign pe_rows      = t_rows;
    assign pe_y_first   = half_y[t_group[0]];
    assign pe_row_off   = half_row_off[t_group[0]];
    assign pe_opb_off   = half_opb[t_group[0]];
    assign pe_blk_first = conv_mode ? c_blk : (TM > TN) ? t_blk_group : t_blk;
    assign pe_chans     = t_chans;
    assign pe_col_first = (TM > TN) ? (t_mod[COL_W-1:0] << TN_B) : {COL_W{1'b0}};
    assign pe_in_half   = t_group[0];
    assign pe_w_half    = multi_n && t_index[0];   // tile t's weight job: t (N > 1) or 0
    assign pe_out_half  = t_index[0];

    // ------------------------------------------------------------ stores and prefetch
    reg [ADDR_W-1:0] st_row_part, st_chan_part;
    always @(posedge clk) begin
        if (clear || layer_start) begin
            st_row_part <= {ADDR_W{1'b0}};
            st_chan_part <= {ADDR_W{1'b0}};
        end else if (st_start) begin
            if (st_lastn) begin
                st_chan_part <= {ADDR_W{1'b0}};
                st_row_part <= st_row_part + out_tr_bytes;
            end else begin
                st_chan_part <= st_chan_part + out_seg_bytes;
            end
        end
    end
    assign st_addr  = out_base + st_row_part + st_chan_part;
    assign st_bps   = (out_seg_bytes[BEATS_W-1:0] + BEAT_MASK[BEATS_W-1:0]) >> BEAT_B;
    assign st_total = st_lastr ? st_beats_last : st_beats;
    assign st_tile  = st_index;
    assign pf_half  = pf_index[0];
    assign pf_rows  = pf_rows_out;
endmodule
