// The accelerator core: the layer controller, the three DMA engines and their DDR arbiter, the
// three double buffers and the PE datapath (docs/microarchitecture.md; docs/rtl.md for the RTL's
// choices). It runs one layer per `layer_start` pulse, described by the desc_* inputs (held
// stable until `layer_ending`), and talks to DDR through one request/beat master port:
//
//   request  m_req_valid/m_req_ready: a request of m_req_bytes (<= BURST) at byte m_req_offset
//            of a 2-D transfer (segments of m_req_seg bytes, m_req_stride bytes apart, from
//            m_req_base). The slave accepts one request at a time (ready while idle); the
//            acceptance cycle is the grant.
//   read     the slave drives m_rd_valid for ceil(bytes / BEAT) beats, the last with m_rd_last;
//   write    the slave raises m_wr_ready for each beat and takes m_wr_data in that cycle.
//   The master never stalls a beat. A request ends the cycle after its last beat.
//
// The trace outputs report each load, tile and store in the cycle it ends, with the cycle it
// started (docs/microarchitecture.md, section 10); `now` counts cycles from reset.
module accel_core #(
    parameter KIND      = 3,
    parameter TN        = 8,
    parameter TM        = 4,
    parameter KMAX      = 3,
    parameter A         = 8,
    parameter W         = 4,
    parameter ACC_W     = 32,
    parameter PIPE_D    = 16,
    parameter BEAT      = 8,
    parameter BURST     = 2048,
    parameter IN_HALF   = 2048,  // input items per bank and half
    parameter IN_SLOTS  = 8,
    parameter W_HALF    = 512,   // weight words per half
    parameter W_IL      = 8,
    parameter W_NP      = 16,
    parameter OUT_HALF  = 1024,  // output items per channel and half
    parameter OUT_SLOTS = 8,
    parameter DIM_W     = 12,
    parameter CH_W      = 16,
    parameter IDX_W     = 24,
    parameter BYTES_W   = 16,
    parameter ADDR_W    = 32,
    parameter STAMP_W   = 32
) (
    input  wire                  clk,
    input  wire                  rst,
    output reg  [STAMP_W-1:0]    now,
    // layer
    input  wire                  layer_start,
    output wire                  layer_ending,
    input  wire [CH_W-1:0]       desc_c_in,
    input  wire [CH_W-1:0]       desc_c_out,
    input  wire [DIM_W-1:0]      desc_h_in,
    input  wire [DIM_W-1:0]      desc_w_in,
    input  wire [DIM_W-1:0]      desc_h_out,
    input  wire [DIM_W-1:0]      desc_w_out,
    input  wire [3:0]            desc_ksize,
    input  wire [3:0]            desc_stride,
    input  wire [3:0]            desc_pad,
    input  wire [DIM_W-1:0]      desc_tile_rows,
    input  wire [10:0]           desc_pair_bits,
    input  wire [W-1:0]          desc_n_pos,
    input  wire [W-1:0]          desc_base_pos,
    input  wire [W-1:0]          desc_base_neg,
    input  wire [5:0]            desc_rq_shift,
    input  wire signed [A-1:0]   desc_rq_lo,
    input  wire signed [A-1:0]   desc_rq_hi,
    input  wire [1:0]            desc_mode,       // 0 convolution / linear, 1 max pool, 2 average pool, 3 add
    input  wire [3:0]            desc_shift_a,    // add: left shift of operand A
    input  wire [3:0]            desc_shift_b,    // add: left shift of operand B
    input  wire [ADDR_W-1:0]     desc_in_base,
    input  wire [ADDR_W-1:0]     desc_in2_base,   // add: operand B
    input  wire [ADDR_W-1:0]     desc_w_base,
    input  wire [ADDR_W-1:0]     desc_out_base,
    // DDR master port
    output wire                  m_req_valid,
    input  wire                  m_req_ready,
    output wire                  m_req_write,
    output wire [ADDR_W-1:0]     m_req_base,
    output wire [ADDR_W-1:0]     m_req_seg,
    output wire [ADDR_W-1:0]     m_req_stride,
    output wire [ADDR_W-1:0]     m_req_offset,
    output wire [BYTES_W-1:0]    m_req_bytes,
    input  wire                  m_rd_valid,
    input  wire                  m_rd_last,
    input  wire [8*BEAT-1:0]     m_rd_data,
    input  wire                  m_wr_ready,
    input  wire                  m_wr_last,
    output wire [8*BEAT-1:0]     m_wr_data,
    // trace: {input, weight, store} transfers and PE tiles that end in this cycle
    output wire [2:0]            tr_xfer_valid,
    output wire [2:0]            tr_xfer_part,
    output wire [3*IDX_W-1:0]    tr_xfer_tile,
    output wire [3*STAMP_W-1:0]  tr_xfer_start,
    output wire                  tr_pe_valid,
    output wire [IDX_W-1:0]      tr_pe_tile,
    output wire [STAMP_W-1:0]    tr_pe_start,
    output wire                  err_underrun
);
    localparam TAPS = (KIND == 3) ? KMAX : KMAX * KMAX;
    localparam IDX_BITS = (KIND == 3 && KMAX > 1) ? $clog2(KMAX) : 0;
    localparam PB_W = 11;       // pair bits: up to 15 * 15 * 6
    localparam NB = TM * KMAX * KMAX;
    localparam BANK_W = (NB > 1) ? $clog2(NB) : 1;
    localparam IN_ITEM_W = $clog2(2 * IN_HALF);
    localparam W_WORD_W = $clog2(2 * W_HALF);
    localparam OUT_ITEM_W = $clog2(2 * OUT_HALF);
    localparam OUT_SLOT_BITS = (OUT_SLOTS > 1) ? $clog2(OUT_SLOTS) : 0;
    localparam OUT_RADDR_W = OUT_ITEM_W - OUT_SLOT_BITS - 1;
    localparam ITEM_W = TAPS * W + IDX_BITS;
    localparam ROW_W = (TN > 1) ? $clog2(TN) : 1;
    localparam SLOT_W = (TM > 1) ? $clog2(TM) : 1;
    localparam PBYTE_W = ROW_W + 4;
    localparam COL_W = (TM > 1) ? $clog2(TM) : 1;

    always @(posedge clk) now <= rst ? {STAMP_W{1'b0}} : now + 1'b1;

    // ------------------------------------------------------------------ controller
    wire in_start, in_half, in_done, w_start, w_half, w_done, st_start, st_done, st_ending;
    wire pf_ready, pf_half, pf_done, pe_start, pe_in_half, pe_w_half, pe_out_half, pe_data_done;
    wire [DIM_W-1:0] in_rows, pe_rows, pe_slab_rows;
    wire [ADDR_W-1:0] in_addr, in_addr2, in_seg, in_stride, in_bytes, w_pair_bytes, w_addr, w_bytes;
    wire in_two;
    wire [CH_W-1:0] pe_g_first, pe_g_count, pe_rem_first, pe_chans;
    wire [3:0] pe_blocks;
    wire [COL_W-1:0] pe_col_first;
    wire [ADDR_W-1:0] st_addr, st_seg, st_stride, st_bytes, pf_bytes;
    wire [IDX_W-1:0] in_tile, w_tile, st_tile;
    wire [CH_W-1:0] w_pairs, pe_groups;
    wire [3:0] pe_y_first;
    wire [2*DIM_W-1:0] pf_pixels;
    controller #(
        .TN(TN), .TM(TM), .PIPE_D(PIPE_D), .DIM_W(DIM_W), .CH_W(CH_W), .ADDR_W(ADDR_W),
        .STAMP_W(STAMP_W), .IDX_W(IDX_W), .PB_W(PB_W), .KMAX(KMAX), .COL_W(COL_W)
    ) u_ctrl (
        .clk(clk), .rst(rst), .now(now), .layer_start(layer_start), .layer_ending(layer_ending),
        .c_in(desc_c_in), .c_out(desc_c_out), .h_in(desc_h_in), .w_in(desc_w_in),
        .h_out(desc_h_out), .w_out(desc_w_out), .ksize(desc_ksize), .stride(desc_stride),
        .pad(desc_pad), .tile_rows(desc_tile_rows), .pair_bits(desc_pair_bits), .mode(desc_mode),
        .in_base(desc_in_base), .in2_base(desc_in2_base), .w_base(desc_w_base), .out_base(desc_out_base),
        .in_start(in_start), .in_half(in_half), .in_rows(in_rows), .in_addr(in_addr),
        .in_addr2(in_addr2), .in_two(in_two), .in_seg(in_seg),
        .in_stride(in_stride), .in_bytes(in_bytes), .in_tile(in_tile), .in_done_raw(in_done),
        .w_start(w_start), .w_half(w_half), .w_pairs(w_pairs), .w_pair_bytes(w_pair_bytes),
        .w_addr(w_addr), .w_bytes(w_bytes), .w_tile(w_tile), .w_done_raw(w_done),
        .st_start(st_start), .st_addr(st_addr), .st_seg(st_seg), .st_stride(st_stride),
        .st_bytes(st_bytes), .st_tile(st_tile), .st_done_raw(st_done), .st_ending(st_ending),
        .pf_ready(pf_ready), .pf_half(pf_half), .pf_pixels(pf_pixels), .pf_bytes(pf_bytes), .pf_done(pf_done),
        .pe_start(pe_start), .pe_rows(pe_rows), .pe_groups(pe_groups), .pe_g_first(pe_g_first),
        .pe_g_count(pe_g_count), .pe_rem_first(pe_rem_first), .pe_blocks(pe_blocks),
        .pe_col_first(pe_col_first), .pe_chans(pe_chans), .pe_y_first(pe_y_first),
        .pe_slab_rows(pe_slab_rows), .pe_in_half(pe_in_half), .pe_w_half(pe_w_half),
        .pe_out_half(pe_out_half), .pe_data_done(pe_data_done),
        .pe_trace_valid(tr_pe_valid), .pe_trace_tile(tr_pe_tile), .pe_trace_start(tr_pe_start)
    );

    // ------------------------------------------------------------------ DDR arbiter
    wire [2:0] req_valid, grant, beat;
    wire [3*STAMP_W-1:0] req_stamp;
    wire [3*ADDR_W-1:0] req_base, req_seg, req_stride, req_offset;
    wire [3*BYTES_W-1:0] req_bytes;
    wire beat_last;
    wire [8*BEAT-1:0] st_wr_data;
    ddr_arbiter #(
        .NPORTS(3), .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BYTES_W(BYTES_W), .DATA_W(8*BEAT)
    ) u_arb (
        .clk(clk), .rst(rst), .req_valid(req_valid), .req_stamp(req_stamp), .req_write(3'b001),
        .req_base(req_base), .req_seg(req_seg), .req_stride(req_stride), .req_offset(req_offset),
        .req_bytes(req_bytes), .grant(grant), .beat(beat), .beat_last(beat_last),
        .wr_data({{(16*BEAT){1'b0}}, st_wr_data}),
        .m_req_valid(m_req_valid), .m_req_ready(m_req_ready), .m_req_write(m_req_write),
        .m_req_base(m_req_base), .m_req_seg(m_req_seg), .m_req_stride(m_req_stride),
        .m_req_offset(m_req_offset), .m_req_bytes(m_req_bytes), .m_rd_valid(m_rd_valid),
        .m_rd_last(m_rd_last), .m_wr_ready(m_wr_ready), .m_wr_last(m_wr_last), .m_wr_data(m_wr_data)
    );

    // ------------------------------------------------------------------ input path
    wire [BEAT-1:0] in_lane_valid;
    wire [BEAT*BANK_W-1:0] in_lane_bank;
    wire [BEAT*IN_ITEM_W-1:0] in_lane_item;
    wire [BEAT*A-1:0] in_lane_data;
    wire in_rd_en;
    wire [KMAX*KMAX*IN_ITEM_W-1:0] in_rd_item;
    wire [NB*A-1:0] in_rd_data;
    dma_load_in #(
        .TM(TM), .KMAX(KMAX), .A(A), .BEAT(BEAT), .BURST(BURST), .HALF_ITEMS(IN_HALF),
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BYTES_W(BYTES_W), .DIM_W(DIM_W)
    ) u_dma_in (
        .clk(clk), .rst(rst), .now(now), .start(in_start), .half(in_half), .width(desc_w_in),
        .rows(in_rows), .part_base(in_addr), .part2_base(in_addr2), .two_parts(in_two),
        .part_seg(in_seg), .part_stride(in_stride),
        .part_bytes(in_bytes), .job_done(in_done),
        .req_valid(req_valid[1]), .req_stamp(req_stamp[STAMP_W +: STAMP_W]),
        .req_base(req_base[ADDR_W +: ADDR_W]), .req_seg(req_seg[ADDR_W +: ADDR_W]),
        .req_stride(req_stride[ADDR_W +: ADDR_W]), .req_offset(req_offset[ADDR_W +: ADDR_W]),
        .req_bytes(req_bytes[BYTES_W +: BYTES_W]), .grant(grant[1]), .beat(beat[1]),
        .beat_last(beat_last), .rd_data(m_rd_data),
        .lane_valid(in_lane_valid), .lane_bank(in_lane_bank), .lane_item(in_lane_item),
        .lane_data(in_lane_data),
        .trace_valid(tr_xfer_valid[0]), .trace_part(tr_xfer_part[0]),
        .trace_start(tr_xfer_start[0 +: STAMP_W])
    );
    input_buffer #(
        .TM(TM), .KMAX(KMAX), .A(A), .SLOTS(IN_SLOTS), .HALF_ITEMS(IN_HALF), .LANES(BEAT)
    ) u_inbuf (
        .clk(clk), .lane_valid(in_lane_valid), .lane_bank(in_lane_bank), .lane_item(in_lane_item),
        .lane_data(in_lane_data), .rd_en(in_rd_en), .rd_item(in_rd_item), .rd_data(in_rd_data)
    );

    // ------------------------------------------------------------------ weight path
    wire [W_NP-1:0] w_lane_valid;
    wire [W_NP*ROW_W-1:0] w_lane_row;
    wire [W_NP*W_WORD_W-1:0] w_lane_word;
    wire [W_NP*SLOT_W-1:0] w_lane_slot;
    wire [W_NP*ITEM_W-1:0] w_lane_data;
    wire [BEAT-1:0] pbyte_valid;
    wire [BEAT*PBYTE_W-1:0] pbyte_index;
    wire [BEAT*8-1:0] pbyte_data;
    wire w_rd_en, param_half;
    wire [W_WORD_W-1:0] w_rd_word;
    wire [TN*TM*ITEM_W-1:0] w_rd_items;
    wire [TN*64-1:0] params;
    dma_load_w #(
        .KIND(KIND), .TN(TN), .TM(TM), .KMAX(KMAX), .W(W), .BEAT(BEAT), .BURST(BURST),
        .HALF_WORDS(W_HALF), .NP(W_NP), .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BYTES_W(BYTES_W),
        .CH_W(CH_W), .PB_W(PB_W)
    ) u_dma_w (
        .clk(clk), .rst(rst), .now(now), .start(w_start), .half(w_half), .channels(desc_c_in),
        .pairs(w_pairs), .pair_bits(desc_pair_bits), .ksize(desc_ksize), .pair_bytes(w_pair_bytes),
        .part_base(w_addr), .part_bytes(w_bytes), .job_done(w_done),
        .req_valid(req_valid[2]), .req_stamp(req_stamp[2*STAMP_W +: STAMP_W]),
        .req_base(req_base[2*ADDR_W +: ADDR_W]), .req_seg(req_seg[2*ADDR_W +: ADDR_W]),
        .req_stride(req_stride[2*ADDR_W +: ADDR_W]), .req_offset(req_offset[2*ADDR_W +: ADDR_W]),
        .req_bytes(req_bytes[2*BYTES_W +: BYTES_W]), .grant(grant[2]), .beat(beat[2]),
        .beat_last(beat_last), .rd_data(m_rd_data),
        .lane_valid(w_lane_valid), .lane_row(w_lane_row), .lane_word(w_lane_word),
        .lane_slot(w_lane_slot), .lane_data(w_lane_data),
        .pbyte_valid(pbyte_valid), .pbyte_index(pbyte_index), .pbyte_data(pbyte_data),
        .trace_valid(tr_xfer_valid[1]), .trace_part(tr_xfer_part[1]),
        .trace_start(tr_xfer_start[STAMP_W +: STAMP_W])
    );
    weight_buffer #(
        .TN(TN), .TM(TM), .ITEM_W(ITEM_W), .IL(W_IL), .HALF_WORDS(W_HALF), .LANES(W_NP), .BEAT(BEAT)
    ) u_wbuf (
        .clk(clk), .lane_valid(w_lane_valid), .lane_row(w_lane_row), .lane_word(w_lane_word),
        .lane_slot(w_lane_slot), .lane_data(w_lane_data), .pbyte_valid(pbyte_valid),
        .pbyte_index(pbyte_index), .pbyte_data(pbyte_data), .rd_en(w_rd_en), .rd_word(w_rd_word),
        .rd_items(w_rd_items), .param_half(param_half), .params(params)
    );

    // ------------------------------------------------------------------ PE datapath
    wire out_wr_valid;
    wire [OUT_ITEM_W-1:0] out_wr_item;
    wire [TN*A-1:0] out_wr_data;
    pe_datapath #(
        .KIND(KIND), .TN(TN), .TM(TM), .KMAX(KMAX), .A(A), .W(W), .ACC_W(ACC_W),
        .IN_HALF(IN_HALF), .W_HALF(W_HALF), .OUT_HALF(OUT_HALF), .DIM_W(DIM_W), .CH_W(CH_W)
    ) u_pe (
        .clk(clk), .rst(rst), .start(pe_start), .out_rows(pe_rows), .out_width(desc_w_out),
        .groups(pe_groups), .g_first(pe_g_first), .g_count(pe_g_count),
        .rem_first(pe_rem_first), .blocks(pe_blocks), .col_first(pe_col_first), .chans(pe_chans),
        .stride(desc_stride), .pad(desc_pad),
        .y_first(pe_y_first), .slab_rows(pe_slab_rows), .slab_width(desc_w_in),
        .in_half(pe_in_half), .w_half(pe_w_half), .out_half(pe_out_half),
        .mode(desc_mode), .ksize(desc_ksize), .shift_a(desc_shift_a), .shift_b(desc_shift_b),
        .n_pos(desc_n_pos), .base_pos(desc_base_pos), .base_neg(desc_base_neg),
        .rq_shift(desc_rq_shift), .rq_lo(desc_rq_lo), .rq_hi(desc_rq_hi),
        .in_rd_en(in_rd_en), .in_rd_item(in_rd_item), .in_rd_data(in_rd_data),
        .w_rd_en(w_rd_en), .w_rd_word(w_rd_word), .w_rd_items(w_rd_items),
        .param_half(param_half), .params(params),
        .out_wr_valid(out_wr_valid), .out_wr_item(out_wr_item), .out_wr_data(out_wr_data),
        .data_done(pe_data_done)
    );

    // ------------------------------------------------------------------ output path
    wire out_rd_en;
    wire [TN*2*OUT_RADDR_W-1:0] out_rd_addr;
    wire [TN*2*OUT_SLOTS*A-1:0] out_rd_words;
    output_buffer #(
        .TN(TN), .A(A), .SLOTS(OUT_SLOTS), .HALF_ITEMS(OUT_HALF)
    ) u_outbuf (
        .clk(clk), .wr_valid(out_wr_valid), .wr_item(out_wr_item), .wr_data(out_wr_data),
        .rd_en(out_rd_en), .rd_addr(out_rd_addr), .rd_words(out_rd_words)
    );
    dma_store #(
        .TN(TN), .A(A), .BEAT(BEAT), .BURST(BURST), .SLOTS(OUT_SLOTS), .HALF_ITEMS(OUT_HALF),
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BYTES_W(BYTES_W), .PIX_W(2*DIM_W)
    ) u_dma_st (
        .clk(clk), .rst(rst), .now(now), .start(st_start), .part_base(st_addr), .part_seg(st_seg),
        .part_stride(st_stride), .part_bytes(st_bytes), .job_done(st_done), .job_ending(st_ending),
        .pf_ready(pf_ready), .pf_half(pf_half), .pf_pixels(pf_pixels), .pf_bytes(pf_bytes),
        .pf_done(pf_done), .rd_en(out_rd_en), .rd_addr(out_rd_addr), .rd_words(out_rd_words),
        .req_valid(req_valid[0]), .req_stamp(req_stamp[0 +: STAMP_W]),
        .req_base(req_base[0 +: ADDR_W]), .req_seg(req_seg[0 +: ADDR_W]),
        .req_stride(req_stride[0 +: ADDR_W]), .req_offset(req_offset[0 +: ADDR_W]),
        .req_bytes(req_bytes[0 +: BYTES_W]), .grant(grant[0]), .beat(beat[0]),
        .beat_last(beat_last), .wr_data(st_wr_data), .underrun(err_underrun),
        .trace_valid(tr_xfer_valid[2]), .trace_part(tr_xfer_part[2]),
        .trace_start(tr_xfer_start[2*STAMP_W +: STAMP_W])
    );

    // ------------------------------------------------------------------ trace tiles
    // the first reader of each load and the tile of each store, latched when the job starts
    reg [IDX_W-1:0] in_job_tile, w_job_tile, st_job_tile;
    always @(posedge clk) begin
        if (in_start) in_job_tile <= in_tile;
        if (w_start) w_job_tile <= w_tile;
        if (st_start) st_job_tile <= st_tile;
    end
    assign tr_xfer_tile = {st_job_tile, w_job_tile, in_job_tile};
endmodule
