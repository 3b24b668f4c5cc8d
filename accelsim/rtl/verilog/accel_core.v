// The accelerator core: the layer controller, the three DMA engines and their DDR arbiter, the
// three double buffers and the PE datapath (docs/microarchitecture.md; docs/rtl.md for the RTL's
// choices). It runs one layer per `layer_start` pulse, described by the desc_* inputs (held
// stable until `layer_ending`; every product of layer sizes the core needs is a descriptor
// field, computed by the compiler), and talks to DDR through one request/beat master port:
//
//   request  m_req_valid/m_req_ready: a request of m_req_beats beats, starting at beat
//            m_req_offset of a transfer of segments of m_req_seg bytes, m_req_stride bytes apart
//            from m_req_base, each segment m_req_bps beats (a segment starts a new beat). The
//            slave accepts one request at a time (ready while idle); the acceptance cycle is the
//            grant.
//   read     the slave drives m_rd_valid for m_req_beats beats, the last with m_rd_last;
//   write    the slave raises m_wr_ready for each beat and takes m_wr_data in that cycle.
//   The master never stalls a beat. A request ends the cycle after its last beat.
//
// The trace outputs report each load, tile and store in the cycle it ends, with the cycle it
// started (docs/microarchitecture.md, section 10); `now` counts cycles from reset.
module accel_core #(
    parameter KIND       = 3,
    parameter TN         = 8,
    parameter TM         = 4,
    parameter KMAX       = 3,
    parameter A          = 8,
    parameter W          = 4,
    parameter ACC_W      = 32,
    parameter PIPE_D     = 16,
    parameter BEAT       = 8,
    parameter BURST      = 2048,
    parameter IN_WORD    = 32,     // input-buffer word, bytes
    parameter IN_HALF    = 32768,  // input-buffer bytes per half
    parameter W_LANES    = 7,      // beats per weight-buffer word
    parameter W_HALF     = 512,    // weight words per half
    parameter P_LANES    = 8,      // beats of a parameter word
    parameter OUT_RAMS   = 1,      // interleaved output memories
    parameter OUT_HALF   = 1024,   // output rows per memory and half
    parameter SHIFT_W    = 4,
    parameter PROD_W     = 17,
    parameter DIM_W      = 12,
    parameter CH_W       = 16,
    parameter IDX_W      = 24,
    parameter BEATS_W    = 24,
    parameter OFF_W      = 24,
    parameter ADDR_W     = 32,
    parameter STAMP_W    = 32
) (
    input  wire                  clk,
    input  wire                  rst,
    output reg  [STAMP_W-1:0]    now,
    // layer
    input  wire                  layer_start,
    output wire                  layer_ending,
    input  wire [CH_W-1:0]       desc_c_out,
    input  wire [DIM_W-1:0]      desc_h_in,
    input  wire [DIM_W-1:0]      desc_w_in,
    input  wire [DIM_W-1:0]      desc_h_out,
    input  wire [DIM_W-1:0]      desc_w_out,
    // windows along the rows (y) and columns (x): start floor(i*a/d) - pad, span b (section 6)
    input  wire [DIM_W-1:0]      desc_y_step,     // a div d
    input  wire [DIM_W-1:0]      desc_x_step,
    input  wire [DIM_W-1:0]      desc_y_rem,      // a mod d
    input  wire [DIM_W-1:0]      desc_x_rem,
    input  wire [DIM_W-1:0]      desc_y_den,      // d
    input  wire [DIM_W-1:0]      desc_x_den,
    input  wire [7:0]            desc_y_size,     // b div d
    input  wire [7:0]            desc_x_size,
    input  wire [DIM_W-1:0]      desc_y_thr,      // d - b mod d
    input  wire [DIM_W-1:0]      desc_x_thr,
    input  wire [7:0]            desc_y_pad,
    input  wire [7:0]            desc_x_pad,
    input  wire [7:0]            desc_y_dpad,     // average: padding counted in the divisor
    input  wire [7:0]            desc_x_dpad,
    input  wire [8:0]            desc_y_div1,     // average: the second divisor (0: none)
    input  wire [8:0]            desc_x_div1,
    input  wire [7:0]            desc_y_blocks,   // window blocks per side
    input  wire [7:0]            desc_x_blocks,
    input  wire [31:0]           desc_avg_m01,    // average: multipliers of divisor classes 0 and 1
    input  wire [31:0]           desc_avg_m23,    // and 2 and 3 (class = 2 * y class + x class)
    input  wire [DIM_W-1:0]      desc_t_rem,      // (Tr * a) mod d of the row windows
    input  wire [DIM_W-1:0]      desc_span_thr,
    input  wire [DIM_W-1:0]      desc_tile_rows,
    input  wire [1:0]            desc_mode,       // 0 convolution / linear, 1 max pool, 2 average pool, 3 add
    input  wire [3:0]            desc_shift_a,    // add: left shift of operand A
    input  wire [3:0]            desc_shift_b,    // add: left shift of operand B
    input  wire [5:0]            desc_rq_shift,
    input  wire signed [A-1:0]   desc_rq_lo,
    input  wire signed [A-1:0]   desc_rq_hi,
    input  wire [W-1:0]          desc_n_pos,
    input  wire [SHIFT_W-1:0]    desc_off_pos,
    input  wire [SHIFT_W-1:0]    desc_off_neg,
    input  wire                  desc_narrow,     // 1x1 weights: one code per unit
    input  wire [7:0]            desc_passes,
    input  wire [7:0]            desc_passes_last,
    input  wire [CH_W-1:0]       desc_groups,     // convolution: input-channel groups of a tile
    input  wire [CH_W-1:0]       desc_groups_last,
    input  wire [CH_W-1:0]       desc_c_per,      // grouped convolution: tiles per step of the first channel
    input  wire [CH_W-1:0]       desc_c_step_slice,
    input  wire [ADDR_W-1:0]     desc_in_base,
    input  wire [ADDR_W-1:0]     desc_in2_base,   // add: operand B
    input  wire [ADDR_W-1:0]     desc_w_base,
    input  wire [ADDR_W-1:0]     desc_out_base,
    /* verilator lint_off UNUSEDSIGNAL */    // the datapath's offsets are OFF_W bits
    input  wire [ADDR_W-1:0]     desc_in_row_bytes,
    input  wire [ADDR_W-1:0]     desc_in_blk_bytes,
    input  wire [ADDR_W-1:0]     desc_pad_bytes,
    input  wire [ADDR_W-1:0]     desc_tr_bytes,
    input  wire [ADDR_W-1:0]     desc_span_bytes,
    input  wire [ADDR_W-1:0]     desc_end_bytes,
    input  wire [ADDR_W-1:0]     desc_srow_bytes,
    input  wire [ADDR_W-1:0]     desc_krow_bytes,
    input  wire [ADDR_W-1:0]     desc_xstep_bytes,
    input  wire [ADDR_W-1:0]     desc_c_step_blk,
    input  wire [ADDR_W-1:0]     desc_w_bytes_last,
    input  wire [BEATS_W-1:0]    desc_w_word_beats_last,
    input  wire [DIM_W-1:0]      desc_tr_rows,
    input  wire [ADDR_W-1:0]     desc_in0_bytes,  // input load 0: bytes and beats
    input  wire [BEATS_W-1:0]    desc_in0_beats,
    input  wire [ADDR_W-1:0]     desc_in1_u,      // input load 1: first window row in map bytes (signed)
    input  wire [31:0]           desc_in1_rows,   // in rows (signed)
    input  wire [DIM_W-1:0]      desc_in1_rem,    // and its remainder
    input  wire [ADDR_W-1:0]     desc_w_bytes,
    input  wire [BEATS_W-1:0]    desc_w_word_beats,
    input  wire [7:0]            desc_w_lanes,
    /* verilator lint_on UNUSEDSIGNAL */
    input  wire [ADDR_W-1:0]     desc_out_row_bytes,
    input  wire [ADDR_W-1:0]     desc_out_seg_bytes,
    input  wire [ADDR_W-1:0]     desc_out_tr_bytes,
    input  wire [BEATS_W-1:0]    desc_st_beats,
    input  wire [BEATS_W-1:0]    desc_st_beats_last,
    // DDR master port
    output wire                  m_req_valid,
    input  wire                  m_req_ready,
    output wire                  m_req_write,
    output wire [ADDR_W-1:0]     m_req_base,
    output wire [ADDR_W-1:0]     m_req_seg,
    output wire [ADDR_W-1:0]     m_req_stride,
    output wire [BEATS_W-1:0]    m_req_bps,
    output wire [BEATS_W-1:0]    m_req_offset,
    output wire [BEATS_W-1:0]    m_req_beats,
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
    localparam COPIES = KMAX * ((TM > TN) ? TM / TN : 1);
    localparam CW = (TM < TN) ? TM : TN;
    localparam IN_ADDR_W = $clog2(2 * IN_HALF);
    localparam IN_WORD_W = IN_ADDR_W - $clog2(IN_WORD);
    localparam IN_LANE_W = (IN_WORD / BEAT > 1) ? $clog2(IN_WORD / BEAT) : 1;
    localparam W_WORD_W = $clog2(2 * W_HALF);
    localparam W_LANE_W = (W_LANES > 1) ? $clog2(W_LANES) : 1;
    localparam P_LANE_W = (P_LANES > 1) ? $clog2(P_LANES) : 1;
    localparam OUT_ROW_W = $clog2(2 * OUT_HALF);
    localparam OUT_RAM_W = (OUT_RAMS > 1) ? $clog2(OUT_RAMS) : 1;
    localparam COL_W = (TM > 1) ? $clog2(TM) : 1;

    always @(posedge clk) now <= rst ? {STAMP_W{1'b0}} : now + 1'b1;

    // ------------------------------------------------------------------ controller
    wire in_start, in_half, in_done, in_ending, in_two, w_start, w_half, w_done, w_ending, st_start, st_done, st_ending;
    wire pf_ready, pf_half, pf_done, pe_start, pe_in_half, pe_w_half, pe_out_half, pe_last_issue, pe_data_done;
    wire [DIM_W-1:0] pe_rows, pf_rows;
    wire [DIM_W+1:0] pe_y_first;
    wire [OFF_W-1:0] pe_row_off, pe_opb_off, pe_blk_first, pe_slice_first;
    wire [CH_W-1:0] pe_chans, pe_groups;
    wire [DIM_W-1:0] pe_y_rem;
    wire [ADDR_W-1:0] w_job_bytes;
    wire [BEATS_W-1:0] w_job_words;
    wire [COL_W-1:0] pe_col_first;
    wire [ADDR_W-1:0] in_addr, in_addr2, in_bytes, w_addr, st_addr;
    wire [BEATS_W-1:0] in_beats, w_beats, st_bps, st_total;
    wire [IDX_W-1:0] in_tile, w_tile, st_tile;
    controller #(
        .TN(TN), .TM(TM), .BEAT(BEAT), .PIPE_D(PIPE_D), .DIM_W(DIM_W), .CH_W(CH_W), .ADDR_W(ADDR_W),
        .BEATS_W(BEATS_W), .OFF_W(OFF_W), .STAMP_W(STAMP_W), .IDX_W(IDX_W), .COL_W(COL_W)
    ) u_ctrl (
        .clk(clk), .rst(rst), .now(now), .layer_start(layer_start), .layer_ending(layer_ending),
        .c_out(desc_c_out), .h_out(desc_h_out), .tile_rows(desc_tile_rows), .pad(desc_y_pad),
        .y_den(desc_y_den), .t_rem(desc_t_rem), .span_thr(desc_span_thr), .in_row_bytes(desc_in_row_bytes),
        .groups(desc_groups), .groups_last(desc_groups_last), .c_per(desc_c_per),
        .c_step_blk(desc_c_step_blk), .c_step_slice(desc_c_step_slice), .w_bytes_last(desc_w_bytes_last),
        .w_words(desc_w_word_beats), .w_words_last(desc_w_word_beats_last),
        .w_job_bytes(w_job_bytes), .w_job_words(w_job_words),
        .mode(desc_mode), .in_base(desc_in_base), .in2_base(desc_in2_base), .w_base(desc_w_base),
        .out_base(desc_out_base), .pad_bytes(desc_pad_bytes), .tr_bytes(desc_tr_bytes),
        .span_bytes(desc_span_bytes), .end_bytes(desc_end_bytes), .tr_rows(desc_tr_rows),
        .in0_bytes(desc_in0_bytes), .in0_beats(desc_in0_beats), .in1_u(desc_in1_u),
        .in1_rows(desc_in1_rows), .in1_rem(desc_in1_rem),
        
        .in_blk_bytes(desc_in_blk_bytes), .w_bytes(desc_w_bytes),
        .out_seg_bytes(desc_out_seg_bytes), .out_tr_bytes(desc_out_tr_bytes),
        .st_beats(desc_st_beats), .st_beats_last(desc_st_beats_last),
        .in_start(in_start), .in_half(in_half), .in_addr(in_addr), .in_addr2(in_addr2),
        .in_two(in_two), .in_bytes(in_bytes), .in_beats(in_beats), .in_tile(in_tile),
        .in_done_raw(in_done), .in_ending(in_ending),
        .w_start(w_start), .w_half(w_half), .w_addr(w_addr), .w_beats(w_beats), .w_tile(w_tile),
        .w_done_raw(w_done), .w_ending(w_ending),
        .st_start(st_start), .st_addr(st_addr), .st_bps(st_bps), .st_total(st_total),
        .st_tile(st_tile), .st_done_raw(st_done), .st_ending(st_ending),
        .pf_ready(pf_ready), .pf_half(pf_half), .pf_rows(pf_rows), .pf_done(pf_done),
        .pe_start(pe_start), .pe_rows(pe_rows), .pe_y_first(pe_y_first), .pe_row_off(pe_row_off),
        .pe_opb_off(pe_opb_off), .pe_blk_first(pe_blk_first), .pe_chans(pe_chans),
        .pe_col_first(pe_col_first), .pe_slice_first(pe_slice_first), .pe_groups(pe_groups),
        .pe_y_rem(pe_y_rem), .pe_in_half(pe_in_half), .pe_w_half(pe_w_half),
        .pe_out_half(pe_out_half), .pe_last_issue(pe_last_issue), .pe_data_done(pe_data_done),
        .pe_trace_valid(tr_pe_valid), .pe_trace_tile(tr_pe_tile), .pe_trace_start(tr_pe_start)
    );

    // ------------------------------------------------------------------ DDR arbiter
    wire [2:0] req_valid, grant, beat;
    wire [3*STAMP_W-1:0] req_stamp;
    wire [3*ADDR_W-1:0] req_base, req_seg, req_stride;
    wire [3*BEATS_W-1:0] req_bps, req_offset, req_beats;
    wire beat_last;
    wire [8*BEAT-1:0] st_wr_data;
    ddr_arbiter #(
        .NPORTS(3), .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BEATS_W(BEATS_W), .DATA_W(8*BEAT)
    ) u_arb (
        .clk(clk), .rst(rst), .req_valid(req_valid), .req_stamp(req_stamp), .req_write(3'b001),
        .req_base(req_base), .req_seg(req_seg), .req_stride(req_stride), .req_bps(req_bps),
        .req_offset(req_offset), .req_beats(req_beats), .grant(grant), .beat(beat),
        .beat_last(beat_last), .wr_data({{(16*BEAT){1'b0}}, st_wr_data}),
        .m_req_valid(m_req_valid), .m_req_ready(m_req_ready), .m_req_write(m_req_write),
        .m_req_base(m_req_base), .m_req_seg(m_req_seg), .m_req_stride(m_req_stride),
        .m_req_bps(m_req_bps), .m_req_offset(m_req_offset), .m_req_beats(m_req_beats),
        .m_rd_valid(m_rd_valid), .m_rd_last(m_rd_last), .m_wr_ready(m_wr_ready),
        .m_wr_last(m_wr_last), .m_wr_data(m_wr_data)
    );

    // ------------------------------------------------------------------ input path
    wire in_wr_valid;
    wire [IN_WORD_W-1:0] in_wr_word;
    wire [IN_LANE_W-1:0] in_wr_lane;
    wire [8*BEAT-1:0] in_wr_data;
    wire in_rd_en;
    wire [COPIES*IN_ADDR_W-1:0] in_rd_addr;
    wire [COPIES*KMAX*CW*8-1:0] in_rd_data;
    dma_load_in #(
        .BEAT(BEAT), .BURST(BURST), .WORD(IN_WORD), .HALF_BYTES(IN_HALF), .STAMP_W(STAMP_W),
        .ADDR_W(ADDR_W), .BEATS_W(BEATS_W)
    ) u_dma_in (
        .clk(clk), .rst(rst), .now(now), .start(in_start), .half(in_half), .part_base(in_addr),
        .part2_base(in_addr2), .two_parts(in_two), .part_bytes(in_bytes), .part_beats(in_beats),
        .job_done(in_done), .job_ending(in_ending),
        .req_valid(req_valid[1]), .req_stamp(req_stamp[STAMP_W +: STAMP_W]),
        .req_base(req_base[ADDR_W +: ADDR_W]), .req_seg(req_seg[ADDR_W +: ADDR_W]),
        .req_stride(req_stride[ADDR_W +: ADDR_W]), .req_bps(req_bps[BEATS_W +: BEATS_W]),
        .req_offset(req_offset[BEATS_W +: BEATS_W]), .req_beats(req_beats[BEATS_W +: BEATS_W]),
        .grant(grant[1]), .beat(beat[1]), .beat_last(beat_last), .rd_data(m_rd_data),
        .wr_valid(in_wr_valid), .wr_word(in_wr_word), .wr_lane(in_wr_lane), .wr_data(in_wr_data),
        .trace_valid(tr_xfer_valid[0]), .trace_part(tr_xfer_part[0]),
        .trace_start(tr_xfer_start[0 +: STAMP_W])
    );
    input_buffer #(
        .COPIES(COPIES), .WORD(IN_WORD), .BEAT(BEAT), .HALF_BYTES(IN_HALF), .CHUNKS(KMAX),
        .CHUNK(CW), .STRIDE(TN), .GRAN(CW)
    ) u_inbuf (
        .clk(clk), .wr_valid(in_wr_valid), .wr_word(in_wr_word), .wr_lane(in_wr_lane),
        .wr_data(in_wr_data), .rd_en(in_rd_en), .rd_addr(in_rd_addr), .rd_data(in_rd_data)
    );

    // ------------------------------------------------------------------ weight path
    wire w_wr_valid, p_wr_valid, p_wr_half;
    wire [W_WORD_W-1:0] w_wr_word;
    wire [W_LANE_W-1:0] w_wr_lane;
    wire [P_LANE_W-1:0] p_wr_lane;
    wire [8*BEAT-1:0] w_wr_data;
    wire w_rd_en, param_half;
    wire [W_WORD_W-1:0] w_rd_word;
    wire [W_LANES*8*BEAT-1:0] w_rd_data;
    wire [TN*64-1:0] params;
    dma_load_w #(
        .BEAT(BEAT), .BURST(BURST), .LANES(W_LANES), .W_HALF(W_HALF), .P_LANES(P_LANES),
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BEATS_W(BEATS_W)
    ) u_dma_w (
        .clk(clk), .rst(rst), .now(now), .start(w_start), .half(w_half), .part_base(w_addr),
        .part_bytes(w_job_bytes), .part_beats(w_beats), .word_beats(w_job_words),
        .lanes(desc_w_lanes[W_LANE_W:0]), .job_done(w_done), .job_ending(w_ending),
        .req_valid(req_valid[2]), .req_stamp(req_stamp[2*STAMP_W +: STAMP_W]),
        .req_base(req_base[2*ADDR_W +: ADDR_W]), .req_seg(req_seg[2*ADDR_W +: ADDR_W]),
        .req_stride(req_stride[2*ADDR_W +: ADDR_W]), .req_bps(req_bps[2*BEATS_W +: BEATS_W]),
        .req_offset(req_offset[2*BEATS_W +: BEATS_W]), .req_beats(req_beats[2*BEATS_W +: BEATS_W]),
        .grant(grant[2]), .beat(beat[2]), .beat_last(beat_last), .rd_data(m_rd_data),
        .w_valid(w_wr_valid), .w_word(w_wr_word), .w_lane(w_wr_lane), .p_valid(p_wr_valid),
        .p_lane(p_wr_lane), .p_half(p_wr_half), .wr_data(w_wr_data),
        .trace_valid(tr_xfer_valid[1]), .trace_part(tr_xfer_part[1]),
        .trace_start(tr_xfer_start[STAMP_W +: STAMP_W])
    );
    weight_buffer #(
        .TN(TN), .BEAT(BEAT), .LANES(W_LANES), .W_HALF(W_HALF), .P_LANES(P_LANES)
    ) u_wbuf (
        .clk(clk), .w_valid(w_wr_valid), .w_word(w_wr_word), .w_lane(w_wr_lane),
        .p_valid(p_wr_valid), .p_lane(p_wr_lane), .p_half(p_wr_half), .wr_data(w_wr_data),
        .rd_en(w_rd_en), .rd_word(w_rd_word), .rd_data(w_rd_data), .param_half(param_half),
        .params(params)
    );

    // ------------------------------------------------------------------ PE datapath
    wire out_wr_valid;
    wire [OUT_ROW_W-1:0] out_wr_row;
    wire [OUT_RAM_W-1:0] out_wr_ram;
    wire [TN*A-1:0] out_wr_data;
    pe_datapath #(
        .KIND(KIND), .TN(TN), .TM(TM), .KMAX(KMAX), .A(A), .W(W), .ACC_W(ACC_W), .BEAT(BEAT),
        .IN_HALF(IN_HALF), .W_LANES(W_LANES), .W_HALF(W_HALF),
        .OUT_RAMS(OUT_RAMS), .OUT_HALF(OUT_HALF), .DIM_W(DIM_W), .CH_W(CH_W), .OFF_W(OFF_W),
        .SHIFT_W(SHIFT_W), .PROD_W(PROD_W)
    ) u_pe (
        .clk(clk), .rst(rst), .start(pe_start), .out_rows(pe_rows), .y_first(pe_y_first),
        .row_off(pe_row_off), .opb_off(pe_opb_off), .blk_first(pe_blk_first), .chans(pe_chans),
        .col_first(pe_col_first), .in_half(pe_in_half), .w_half(pe_w_half), .out_half(pe_out_half),
        .slice_first(pe_slice_first), .tile_groups(pe_groups), .y_rem_first(pe_y_rem),
        .mode(desc_mode), .y_step(desc_y_step), .x_step(desc_x_step), .y_rem(desc_y_rem),
        .x_rem(desc_x_rem), .y_den(desc_y_den), .x_den(desc_x_den), .y_size(desc_y_size),
        .x_size(desc_x_size), .y_thr(desc_y_thr), .x_thr(desc_x_thr), .x_pad(desc_x_pad),
        .y_dpad(desc_y_dpad), .x_dpad(desc_x_dpad), .y_div1(desc_y_div1), .x_div1(desc_x_div1),
        .y_blocks(desc_y_blocks), .x_blocks(desc_x_blocks), .xstep_bytes(desc_xstep_bytes[OFF_W-1:0]),
        .avg_m0(desc_avg_m01[15:0]), .avg_m1(desc_avg_m01[31:16]), .avg_m2(desc_avg_m23[15:0]),
        .avg_m3(desc_avg_m23[31:16]),
        .h_in(desc_h_in), .w_in(desc_w_in), .w_out(desc_w_out),
        .passes(desc_passes), .passes_last(desc_passes_last), .narrow(desc_narrow),
        .row_bytes(desc_in_row_bytes[OFF_W-1:0]), .blk_bytes(desc_in_blk_bytes[OFF_W-1:0]),
        .srow_bytes(desc_srow_bytes[OFF_W-1:0]), .krow_bytes(desc_krow_bytes[OFF_W-1:0]),
        .shift_a(desc_shift_a), .shift_b(desc_shift_b), .n_pos(desc_n_pos),
        .off_pos(desc_off_pos), .off_neg(desc_off_neg), .rq_shift(desc_rq_shift),
        .rq_lo(desc_rq_lo), .rq_hi(desc_rq_hi),
        .in_rd_en(in_rd_en), .in_rd_addr(in_rd_addr), .in_rd_data(in_rd_data),
        .w_rd_en(w_rd_en), .w_rd_word(w_rd_word), .w_rd_data(w_rd_data),
        .param_half(param_half), .params(params),
        .out_wr_valid(out_wr_valid), .out_wr_row(out_wr_row), .out_wr_ram(out_wr_ram),
        .out_wr_data(out_wr_data), .last_issue(pe_last_issue), .data_done(pe_data_done)
    );

    // ------------------------------------------------------------------ output path
    wire out_rd_en;
    wire [OUT_RAMS*OUT_ROW_W-1:0] out_rd_row;
    wire [OUT_RAMS*TN*A-1:0] out_rd_words;
    output_buffer #(.TN(TN), .A(A), .RAMS(OUT_RAMS), .HALF_ROWS(OUT_HALF)) u_outbuf (
        .clk(clk), .wr_valid(out_wr_valid), .wr_row(out_wr_row), .wr_ram(out_wr_ram),
        .wr_data(out_wr_data), .rd_en(out_rd_en), .rd_row(out_rd_row), .rd_words(out_rd_words)
    );
    dma_store #(
        .TN(TN), .A(A), .BEAT(BEAT), .BURST(BURST), .RAMS(OUT_RAMS), .HALF_ROWS(OUT_HALF),
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BEATS_W(BEATS_W), .DIM_W(DIM_W)
    ) u_dma_st (
        .clk(clk), .rst(rst), .now(now), .start(st_start), .part_base(st_addr),
        .part_seg(desc_out_seg_bytes), .part_stride(desc_out_row_bytes), .part_bps(st_bps),
        .part_beats(st_total), .job_done(st_done), .job_ending(st_ending),
        .pf_ready(pf_ready), .pf_half(pf_half), .pf_rows(pf_rows), .width(desc_w_out),
        .pf_done(pf_done), .rd_en(out_rd_en), .rd_row(out_rd_row), .rd_words(out_rd_words),
        .req_valid(req_valid[0]), .req_stamp(req_stamp[0 +: STAMP_W]),
        .req_base(req_base[0 +: ADDR_W]), .req_seg(req_seg[0 +: ADDR_W]),
        .req_stride(req_stride[0 +: ADDR_W]), .req_bps(req_bps[0 +: BEATS_W]),
        .req_offset(req_offset[0 +: BEATS_W]), .req_beats(req_beats[0 +: BEATS_W]),
        .grant(grant[0]), .beat(beat[0]), .beat_last(beat_last), .wr_data(st_wr_data),
        .underrun(err_underrun),
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
