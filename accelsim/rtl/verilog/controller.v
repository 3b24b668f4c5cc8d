// The layer controller: walks a layer's tiles (a convolution or linear layer, or in vector mode a
// pooling or residual add, docs/microarchitecture.md sections 5 and 6) and drives the engines by
// the rules of section 8. All decisions are combinational functions of registered state (done
// flags are registered and visible in the cycle their activity ends):
//
//   1. Load j = 0 of each stream is started at the layer start; load j+1 when the first tile
//      reading load j starts computing. Input load j is row group j (read by its N tiles; an add
//      loads its two operands as two transfers); weight load j is tile j's channel group (N > 1),
//      or the only one (N = 1). Max pooling has no weight stream.
//   2. Tile t starts when tile t-1 has ended, its loads have ended and output half t mod 2 is
//      free (the store of tile t-2 has ended); it holds the PE array for steps + D cycles.
//   4. The store of tile t starts when tile t has ended and the store of tile t-1 has ended.
//   5. The layer ends when its last store ends: `layer_ending` is high in the cycle of its last
//      beat, so the next layer can start in the cycle the store ends.
//
// Geometry of a row group [y0, y0 + rows) of output rows: it reads slab rows
// first = max(0, y0*s - pad) .. last = min(H_in - 1, (y0 + rows - 1)*s - pad + K - 1).
module controller #(
    parameter TN      = 8,
    parameter TM      = 4,
    parameter PIPE_D  = 16,
    parameter DIM_W   = 12,
    parameter CH_W    = 16,
    parameter ADDR_W  = 32,
    parameter STAMP_W = 32,
    parameter IDX_W   = 24,
    parameter PB_W    = 6,
    parameter KMAX    = 3,
    parameter COL_W   = (TM > 1) ? $clog2(TM) : 1
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [STAMP_W-1:0] now,
    input  wire               layer_start,
    output wire               layer_ending,
    // layer descriptor
    input  wire [CH_W-1:0]    c_in,
    input  wire [CH_W-1:0]    c_out,
    input  wire [DIM_W-1:0]   h_in,
    input  wire [DIM_W-1:0]   w_in,
    input  wire [DIM_W-1:0]   h_out,
    input  wire [DIM_W-1:0]   w_out,
    input  wire [3:0]         ksize,
    input  wire [3:0]         stride,
    input  wire [3:0]         pad,
    input  wire [DIM_W-1:0]   tile_rows,
    input  wire [PB_W-1:0]    pair_bits,
    input  wire [1:0]         mode,       // 0 convolution or linear, 1 max pool, 2 average pool, 3 add
    input  wire [ADDR_W-1:0]  in_base,
    input  wire [ADDR_W-1:0]  in2_base,   // an add's operand B
    input  wire [ADDR_W-1:0]  w_base,
    input  wire [ADDR_W-1:0]  out_base,
    // input DMA
    output wire               in_start,
    output wire               in_half,
    output wire [DIM_W-1:0]   in_rows,
    output wire [ADDR_W-1:0]  in_addr,
    output wire [ADDR_W-1:0]  in_addr2,   // operand B's rows (an add)
    output wire               in_two,     // the load has two transfers (an add)
    output wire [ADDR_W-1:0]  in_seg,
    output wire [ADDR_W-1:0]  in_stride,
    output wire [ADDR_W-1:0]  in_bytes,
    output wire [IDX_W-1:0]   in_tile,
    input  wire               in_done_raw,
    // weight DMA
    output wire               w_start,
    output wire               w_half,
    output wire [CH_W-1:0]    w_pairs,
    output wire [ADDR_W-1:0]  w_pair_bytes,
    output wire [ADDR_W-1:0]  w_addr,
    output wire [ADDR_W-1:0]  w_bytes,
    output wire [IDX_W-1:0]   w_tile,
    input  wire               w_done_raw,
    // store DMA
    output wire               st_start,
    output wire [ADDR_W-1:0]  st_addr,
    output wire [ADDR_W-1:0]  st_seg,
    output wire [ADDR_W-1:0]  st_stride,
    output wire [ADDR_W-1:0]  st_bytes,
    output wire [IDX_W-1:0]   st_tile,
    input  wire               st_done_raw,
    input  wire               st_ending,
    output wire               pf_ready,
    output wire               pf_half,
    output wire [DIM_W+DIM_W-1:0] pf_pixels,
    output wire [ADDR_W-1:0]  pf_bytes,
    input  wire               pf_done,
    // PE datapath
    output wire               pe_start,
    output wire [DIM_W-1:0]   pe_rows,
    output wire [CH_W-1:0]    pe_groups,
    output wire [CH_W-1:0]    pe_g_first,
    output wire [CH_W-1:0]    pe_g_count,
    output wire [CH_W-1:0]    pe_rem_first,
    output wire [3:0]         pe_blocks,
    output wire [COL_W-1:0]   pe_col_first,
    output wire [CH_W-1:0]    pe_chans,
    output wire [3:0]         pe_y_first,
    output wire [DIM_W-1:0]   pe_slab_rows,
    output wire               pe_in_half,
    output wire               pe_w_half,
    output wire               pe_out_half,
    input  wire               pe_data_done,
    // trace of the PE array: a tile ended this cycle
    output reg                pe_trace_valid,
    output reg  [IDX_W-1:0]   pe_trace_tile,
    output reg  [STAMP_W-1:0] pe_trace_start
);
    localparam integer TN_I = TN, TM_I = TM, D_I = PIPE_D;
    localparam [CH_W-1:0] TN_C = TN_I[CH_W-1:0];
    localparam [CH_W-1:0] TM_C = TM_I[CH_W-1:0];
    localparam CYC_W = 32;
    localparam [CYC_W-1:0] D_C = D_I[CYC_W-1:0];
    localparam PIX_W = DIM_W + DIM_W;
    localparam integer KMAX_I = KMAX;

    // ------------------------------------------------------------ layer kind
    wire vector = (mode != 2'd0);
    wire has_w  = (mode != 2'd1);     // max pooling loads no parameters
    assign in_two = (mode == 2'd3);

    // ------------------------------------------------------------ layer constants
    wire [IDX_W-1:0] groups_n = {{(IDX_W-CH_W){1'b0}}, (c_out + TN_C - 1'b1) / TN_C};
    wire [CH_W-1:0]  groups_g = (c_in + TM_C - 1'b1) / TM_C;
    wire             multi_n  = (groups_n > {{(IDX_W-1){1'b0}}, 1'b1});
    wire [ADDR_W-1:0] plane_in  = {{(ADDR_W-DIM_W){1'b0}}, h_in} * {{(ADDR_W-DIM_W){1'b0}}, w_in};
    wire [ADDR_W-1:0] plane_out = {{(ADDR_W-DIM_W){1'b0}}, h_out} * {{(ADDR_W-DIM_W){1'b0}}, w_out};

    reg  running;
    wire run   = running || layer_start;
    wire clear = rst || layer_ending;
    // a job's done pulse comes in the cycle its last request ends; the previous layer's last store
    // ends in the cycle this layer starts (running is still low), so that pulse is not ours
    wire in_done = in_done_raw && running;
    wire w_done  = w_done_raw && running;
    wire st_done = st_done_raw && running;

    // slab rows read by output rows [y0, y0 + rows): {first, count}
    /* verilator lint_off UNUSEDSIGNAL */
    function [2*DIM_W-1:0] slab(input [DIM_W-1:0] y0, input [DIM_W-1:0] rows);
        reg [DIM_W+4:0] top, bottom, last;   // last < H_in
        begin
            top = {5'd0, y0} * {{(DIM_W+1){1'b0}}, stride};
            top = (top > {{(DIM_W+1){1'b0}}, pad}) ? top - {{(DIM_W+1){1'b0}}, pad} : {(DIM_W+5){1'b0}};
            bottom = {5'd0, y0 + rows - 1'b1} * {{(DIM_W+1){1'b0}}, stride} + {{(DIM_W+1){1'b0}}, ksize}
                     - 1'b1 - {{(DIM_W+1){1'b0}}, pad};
            last = (bottom < {5'd0, h_in}) ? bottom : {5'd0, h_in - 1'b1};
            slab = {top[DIM_W-1:0], last[DIM_W-1:0] - top[DIM_W-1:0] + 1'b1};
        end
    endfunction
    /* verilator lint_on UNUSEDSIGNAL */

    // ------------------------------------------------------------ walkers
    // (each walker has every output; not every walker needs all of them)
    /* verilator lint_off UNUSEDSIGNAL */
    wire [IDX_W-1:0] t_index, t_group, in_index, in_group, wt_index, wt_group, st_index, st_group, pf_index, pf_group;
    wire [DIM_W-1:0] t_first, in_first, wt_first, st_first, pf_first;
    wire [CH_W-1:0]  t_chan, in_chan, wt_chan, st_chan, pf_chan;
    wire             t_lastn, t_lastr, in_lastn, in_lastr, wt_lastn, wt_lastr, st_lastn, st_lastr, pf_lastn, pf_lastr;
    wire [DIM_W-1:0] t_rows, in_rows_out, wt_rows, st_rows, pf_rows;
    wire [CH_W-1:0]  t_chans, in_chans, wt_chans, st_chans, pf_chans;
    /* verilator lint_on UNUSEDSIGNAL */
    wire in_next, wt_next, st_next, pf_next;
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_tiles (
        .clk(clk), .clear(clear), .next_tile(pe_start), .next_row(1'b0), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(t_index),
        .row_group(t_group), .row_first(t_first), .chan_first(t_chan), .last_group(t_lastn),
        .last_row(t_lastr), .rows(t_rows), .chans(t_chans));
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_inputs (
        .clk(clk), .clear(clear), .next_tile(1'b0), .next_row(in_next), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(in_index),
        .row_group(in_group), .row_first(in_first), .chan_first(in_chan), .last_group(in_lastn),
        .last_row(in_lastr), .rows(in_rows_out), .chans(in_chans));
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_weights (
        .clk(clk), .clear(clear), .next_tile(wt_next), .next_row(1'b0), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(wt_index),
        .row_group(wt_group), .row_first(wt_first), .chan_first(wt_chan), .last_group(wt_lastn),
        .last_row(wt_lastr), .rows(wt_rows), .chans(wt_chans));
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_stores (
        .clk(clk), .clear(clear), .next_tile(st_next), .next_row(1'b0), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(st_index),
        .row_group(st_group), .row_first(st_first), .chan_first(st_chan), .last_group(st_lastn),
        .last_row(st_lastr), .rows(st_rows), .chans(st_chans));
    tile_walker #(.TN(TN), .DIM_W(DIM_W), .CH_W(CH_W), .IDX_W(IDX_W)) u_prefetch (
        .clk(clk), .clear(clear), .next_tile(pf_next), .next_row(1'b0), .tile_rows(tile_rows),
        .out_height(h_out), .out_channels(c_out), .groups_n(groups_n), .index(pf_index),
        .row_group(pf_group), .row_first(pf_first), .chan_first(pf_chan), .last_group(pf_lastn),
        .last_row(pf_lastr), .rows(pf_rows), .chans(pf_chans));

    // ------------------------------------------------------------ progress counters
    reg [IDX_W-1:0] tiles_done, stores_done, in_loads_done, w_loads_done, data_done;
    reg             tiles_all, stores_all, in_all, w_all, pf_all;   // everything started
    reg             in_busy, w_busy, st_busy, pe_busy;
    reg             in_pending, w_pending;
    reg [CYC_W-1:0] pe_left;
    wire [IDX_W-1:0] in_loaded = in_loads_done + {{(IDX_W-1){1'b0}}, in_done};
    wire [IDX_W-1:0] w_loaded  = w_loads_done + {{(IDX_W-1){1'b0}}, w_done};
    wire [IDX_W-1:0] stored    = stores_done + {{(IDX_W-1){1'b0}}, st_done};

    // rule 2: the next tile
    wire [IDX_W-1:0] t_wjob = multi_n ? t_index : {IDX_W{1'b0}};
    wire out_free = (t_index < {{(IDX_W-2){1'b0}}, 2'd2}) || (stored + 1'b1 >= t_index);
    assign pe_start = run && !pe_busy && !tiles_all && (in_loaded > t_group) && (!has_w || w_loaded > t_wjob) && out_free;
    wire last_tile = t_lastn && t_lastr;

    // rule 1: load triggers
    wire in_trigger = layer_start || (pe_start && t_chan == {CH_W{1'b0}} && !t_lastr);
    wire w_trigger  = has_w && (layer_start || (pe_start && multi_n && !last_tile));
    assign in_start = run && !in_all && (!in_busy || in_done) && (in_pending || in_trigger);
    assign w_start  = run && !w_all && (!w_busy || w_done) && (w_pending || w_trigger);
    assign in_next  = in_start;
    assign wt_next  = w_start && multi_n;

    // rule 4: stores
    assign st_start = run && !stores_all && (!st_busy || st_done) && (tiles_done > st_index);
    assign st_next  = st_start;
    // the last store ends (with zero DDR latency a one-beat store ends in its start cycle)
    assign layer_ending = st_ending && ((st_busy && stores_all) || (st_start && st_lastn && st_lastr));

    // prefetch of the store data: a tile whose outputs are all written
    assign pf_ready = run && !pf_all && (data_done > pf_index);
    assign pf_next  = pf_done;

    always @(posedge clk) begin
        pe_trace_valid <= 1'b0;
        if (clear) begin
            running <= 1'b0;
            tiles_done <= {IDX_W{1'b0}};
            stores_done <= {IDX_W{1'b0}};
            in_loads_done <= {IDX_W{1'b0}};
            w_loads_done <= {IDX_W{1'b0}};
            data_done <= {IDX_W{1'b0}};
            {tiles_all, stores_all, in_all, w_all, pf_all} <= 5'b0;
            {in_busy, w_busy, st_busy, pe_busy} <= 4'b0;
            {in_pending, w_pending} <= 2'b0;
        end else begin
            if (layer_start) running <= 1'b1;
            // input loads
            if (in_done) in_loads_done <= in_loaded;
            if (in_start) begin
                in_busy <= 1'b1;
                if (in_lastr) in_all <= 1'b1;
            end else if (in_done) in_busy <= 1'b0;
            in_pending <= (in_pending || in_trigger) && !in_start && run;
            // weight loads
            if (w_done) w_loads_done <= w_loaded;
            if (w_start) begin
                w_busy <= 1'b1;
                if (!multi_n || (wt_lastn && wt_lastr)) w_all <= 1'b1;
            end else if (w_done) w_busy <= 1'b0;
            w_pending <= (w_pending || w_trigger) && !w_start && run;
            // tiles
            if (pe_start) begin
                pe_trace_start <= now;
                pe_trace_tile <= t_index;
                if (last_tile) tiles_all <= 1'b1;
            end
            if (pe_start && tile_cycles > {{(CYC_W-1){1'b0}}, 1'b1}) begin
                pe_busy <= 1'b1;
                pe_left <= tile_cycles - 1'b1;
            end else if (pe_busy) begin
                pe_left <= pe_left - 1'b1;
            end
            if ((pe_busy && pe_left == {{(CYC_W-1){1'b0}}, 1'b1}) ||
                (pe_start && tile_cycles == {{(CYC_W-1){1'b0}}, 1'b1})) begin   // last busy cycle
                pe_busy <= 1'b0;
                tiles_done <= tiles_done + 1'b1;
                pe_trace_valid <= 1'b1;
            end
            if (pe_data_done) data_done <= data_done + 1'b1;
            if (pf_done && pf_lastn && pf_lastr) pf_all <= 1'b1;
            // stores
            if (st_done) stores_done <= stored;
            if (st_start) begin
                st_busy <= 1'b1;
                if (st_lastn && st_lastr) stores_all <= 1'b1;
            end else if (st_done) st_busy <= 1'b0;
        end
    end

    // ------------------------------------------------------------ geometry
    // input load: row group in_group
    wire [2*DIM_W-1:0] in_slab = slab(in_first, in_rows_out);
    wire [DIM_W-1:0]   in_row0 = in_slab[2*DIM_W-1:DIM_W];
    assign in_rows   = in_slab[DIM_W-1:0];
    assign in_half   = in_group[0];
    assign in_seg    = {{(ADDR_W-DIM_W){1'b0}}, in_rows} * {{(ADDR_W-DIM_W){1'b0}}, w_in};
    assign in_bytes  = in_seg * {{(ADDR_W-CH_W){1'b0}}, c_in};
    wire [ADDR_W-1:0]  in_row_off = {{(ADDR_W-DIM_W){1'b0}}, in_row0} * {{(ADDR_W-DIM_W){1'b0}}, w_in};
    assign in_addr   = in_base + in_row_off;
    assign in_addr2  = in2_base + in_row_off;
    assign in_stride = plane_in;
    assign in_tile   = in_index;

    // weight load: the channel group of tile wt_index (or of tile 0 when N = 1)
    reg  [ADDR_W-1:0]  w_offset;          // bytes of the groups before wt_chan
    reg  [IDX_W-1:0]   w_started;
    /* verilator lint_off UNUSEDSIGNAL */
    wire [CH_W+CH_W-1:0] pairs_full = {{CH_W{1'b0}}, wt_chans} * {{CH_W{1'b0}}, c_in};  // < 2^CH_W
    wire [2*DIM_W-1:0] t_slab = slab(t_first, t_rows);      // the rows; the first row is the load's
    /* verilator lint_on UNUSEDSIGNAL */
    wire [ADDR_W-1:0] pair_bits_total = {{(ADDR_W-CH_W){1'b0}}, pairs_full[CH_W-1:0]} * {{(ADDR_W-PB_W){1'b0}}, pair_bits};
    assign w_pairs      = pairs_full[CH_W-1:0];
    assign w_pair_bytes = (pair_bits_total + 32'd7) >> 3;
    assign w_bytes      = w_pair_bytes + {{(ADDR_W-CH_W-3){1'b0}}, wt_chans, 3'b000};
    assign w_addr       = w_base + w_offset;
    assign w_half       = w_started[0];
    assign w_tile       = multi_n ? wt_index : {IDX_W{1'b0}};
    always @(posedge clk) begin
        if (clear) begin
            w_offset <= {ADDR_W{1'b0}};
            w_started <= {IDX_W{1'b0}};
        end else if (w_start) begin
            w_started <= w_started + 1'b1;
            w_offset <= (wt_lastn || !multi_n) ? {ADDR_W{1'b0}} : w_offset + w_bytes;
        end
    end

    // tile t_index
    wire [DIM_W+4:0]   t_top  = {5'd0, t_first} * {{(DIM_W+1){1'b0}}, stride};
    wire [PIX_W-1:0]   t_pixels = {{DIM_W{1'b0}}, t_rows} * {{DIM_W{1'b0}}, w_out};
    // the input groups a tile reads: all of them (convolution), or those of its channels (vector)
    wire [CH_W-1:0]    v_first = t_chan / TM_C;
    wire [CH_W-1:0]    v_last  = (t_chan + t_chans - 1'b1) / TM_C;
    wire [CH_W-1:0]    g_first = vector ? v_first : {CH_W{1'b0}};
    wire [CH_W-1:0]    g_count = vector ? v_last - v_first + 1'b1 : groups_g;
    wire [CH_W-1:0]    g_base  = g_first * TM_C;      // its first channel
    wire [3:0]         blocks  = vector ? (ksize + KMAX_I[3:0] - 1'b1) / KMAX_I[3:0] : 4'd1;
    wire [CH_W-1:0]    steps   = {{(CH_W-8){1'b0}}, {4'd0, blocks} * {4'd0, blocks}} * (in_two ? g_count << 1 : g_count);
    wire [CYC_W-1:0]   tile_cycles = {{(CYC_W-PIX_W){1'b0}}, t_pixels} * {{(CYC_W-CH_W){1'b0}}, steps} + D_C;
    assign pe_rows      = t_rows;
    assign pe_groups    = groups_g;
    assign pe_g_first   = g_first;
    assign pe_g_count   = g_count;
    assign pe_rem_first = c_in - g_base;
    assign pe_blocks    = blocks;
    assign pe_col_first = t_chan[COL_W-1:0] - g_base[COL_W-1:0];
    assign pe_chans     = t_chans;
    assign pe_y_first   = (t_top < {{(DIM_W+1){1'b0}}, pad}) ? pad - t_top[3:0] : 4'd0;
    assign pe_slab_rows = t_slab[DIM_W-1:0];
    assign pe_in_half   = t_group[0];
    assign pe_w_half    = t_wjob[0];
    assign pe_out_half  = t_index[0];

    // store of tile st_index, and the tile being prefetched
    wire [PIX_W-1:0] st_pixels = {{DIM_W{1'b0}}, st_rows} * {{DIM_W{1'b0}}, w_out};
    assign st_seg    = {{(ADDR_W-PIX_W){1'b0}}, st_pixels};
    assign st_bytes  = st_seg * {{(ADDR_W-CH_W){1'b0}}, st_chans};
    assign st_addr   = out_base + ({{(ADDR_W-CH_W){1'b0}}, st_chan} * {{(ADDR_W-DIM_W){1'b0}}, h_out}
                       + {{(ADDR_W-DIM_W){1'b0}}, st_first}) * {{(ADDR_W-DIM_W){1'b0}}, w_out};
    assign st_stride = plane_out;
    assign st_tile   = st_index;
    assign pf_pixels = {{DIM_W{1'b0}}, pf_rows} * {{DIM_W{1'b0}}, w_out};
    assign pf_bytes  = {{(ADDR_W-PIX_W){1'b0}}, pf_pixels} * {{(ADDR_W-CH_W){1'b0}}, pf_chans};
    assign pf_half   = pf_index[0];
endmodule
