// The input DMA engine: loads one input slab (one transfer, or two for a residual add) into a
// half of the input buffer, BEAT activations per cycle at the DDR's rate.
//
// The slab arrives channel-major, (c, y, x) with x fastest, as in DDR. Activation (c, y, x) of a
// slab goes to bank (c mod TM, y mod KMAX, x mod KMAX) (docs/microarchitecture.md, section 4) at
// the next free item of that bank: items are numbered in arrival order per bank, so every bank
// is written in runs of consecutive items and the PE side finds (c, y, x) at item
//   ((c / TM) * R[y mod KMAX] + y / KMAX) * Wc[x mod KMAX] + x / KMAX
// where R[ym] and Wc[xm] count the slab rows and columns of each class (input_window.v).
//
// A residual add's second operand (part 1) is stored from input group ceil(C / TM) on: when its
// first beat arrives the cursor restarts and every bank's counter takes the count of the bank of
// column 0 with the same (y mod KMAX, x mod KMAX), which held a channel of every group of part 0.
//
// Each beat is registered, then split into lanes: a cursor chain gives every lane its (c, y, x)
// class, a prefix count its rank among the lanes of its bank, and the per-bank counters its
// item. The cursor and the counters restart with every job.
module dma_load_in #(
    parameter TM         = 4,
    parameter KMAX       = 3,
    parameter A          = 8,
    parameter BEAT       = 8,     // bytes (= activations) per beat
    parameter BURST      = 2048,
    parameter HALF_ITEMS = 2048,
    parameter STAMP_W    = 32,
    parameter ADDR_W     = 32,
    parameter BYTES_W    = 16,
    parameter DIM_W      = 12,    // bits of a row or column count
    parameter ITEM_W     = $clog2(2 * HALF_ITEMS),
    parameter NB         = TM * KMAX * KMAX,
    parameter BANK_W     = (NB > 1) ? $clog2(NB) : 1
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [STAMP_W-1:0]        now,
    // the job: start it (first request this cycle), its half, the slab geometry and transfer
    input  wire                      start,
    input  wire                      half,
    input  wire [DIM_W-1:0]          width,      // columns of the slab (W_in)
    input  wire [DIM_W-1:0]          rows,       // rows of the slab
    input  wire [ADDR_W-1:0]         part_base,
    input  wire [ADDR_W-1:0]         part2_base,  // the second transfer (two_parts)
    input  wire                      two_parts,
    input  wire [ADDR_W-1:0]         part_seg,
    input  wire [ADDR_W-1:0]         part_stride,
    input  wire [ADDR_W-1:0]         part_bytes,
    output wire                      job_done,
    // arbiter port
    output wire                      req_valid,
    output wire [STAMP_W-1:0]        req_stamp,
    output wire [ADDR_W-1:0]         req_base,
    output wire [ADDR_W-1:0]         req_seg,
    output wire [ADDR_W-1:0]         req_stride,
    output wire [ADDR_W-1:0]         req_offset,
    output wire [BYTES_W-1:0]        req_bytes,
    input  wire                      grant,
    input  wire                      beat,
    input  wire                      beat_last,
    input  wire [8*BEAT-1:0]         rd_data,
    // input buffer write lanes
    output reg  [BEAT-1:0]           lane_valid,
    output reg  [BEAT*BANK_W-1:0]    lane_bank,
    output reg  [BEAT*ITEM_W-1:0]    lane_item,
    output wire [BEAT*A-1:0]         lane_data,
    // trace: a transfer ended this cycle
    output wire                      trace_valid,
    output wire                      trace_part,
    output wire [STAMP_W-1:0]        trace_start
);
    localparam KW = (KMAX > 1) ? $clog2(KMAX) : 1;
    localparam CW = (TM > 1) ? $clog2(TM) : 1;

    wire               data_beat;
    wire [BYTES_W-1:0] beat_bytes;
    wire               busy;
    wire               part;
    /* verilator lint_off PINCONNECTEMPTY */
    dma_requester #(
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BYTES_W(BYTES_W), .BEAT(BEAT), .BURST(BURST)
    ) u_req (
        .clk(clk), .rst(rst), .now(now), .start(start), .two_parts(two_parts),
        .job_base({part2_base, part_base}), .job_seg({part_seg, part_seg}),
        .job_stride({part_stride, part_stride}), .job_bytes({part_bytes, part_bytes}), .part(part),
        .req_valid(req_valid), .req_stamp(req_stamp), .req_base(req_base), .req_seg(req_seg),
        .req_stride(req_stride), .req_offset(req_offset), .req_bytes(req_bytes),
        .grant(grant), .beat(beat), .beat_last(beat_last),
        .data_beat(data_beat), .beat_offset(), .beat_bytes(beat_bytes),
        .busy(busy), .job_ending(), .job_done(job_done),
        .trace_valid(trace_valid), .trace_part(trace_part), .trace_start(trace_start)
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // ---- registered beat
    reg               b_valid, b_part;
    reg [8*BEAT-1:0]  b_data;
    reg [BYTES_W-1:0] b_bytes;
    reg               half_q;
    reg [DIM_W-1:0]   width_q, rows_q;
    always @(posedge clk) begin
        b_valid <= rst ? 1'b0 : data_beat;
        b_part  <= part;
        b_data  <= rd_data;
        b_bytes <= beat_bytes;
        if (start && !busy) begin
            half_q  <= half;
            width_q <= width;
            rows_q  <= rows;
        end
    end
    assign lane_data = b_data[BEAT*A-1:0];
    localparam NB_W = $clog2(BEAT + 1);
    wire [NB_W-1:0] b_lanes = b_bytes[NB_W-1:0];   // a beat's bytes (<= BEAT), narrow for the selects

    // ---- cursor chain: (c mod TM, y mod K, x mod K, y, x) of every lane; lane BEAT is the next cursor
    localparam integer TM_I = TM, KMAX_I = KMAX;
    localparam [CW-1:0] CM_LAST = TM_I[CW-1:0] - 1'b1;
    localparam [KW-1:0] KM_LAST = KMAX_I[KW-1:0] - 1'b1;
    localparam [BANK_W-1:0] K_B = KMAX_I[BANK_W-1:0];
    reg [DIM_W-1:0] cur_x, cur_y;
    reg [KW-1:0]    cur_xm, cur_ym;
    reg [CW-1:0]    cur_cm;
    reg [(BEAT+1)*DIM_W-1:0] ch_x, ch_y;
    reg [(BEAT+1)*KW-1:0]    ch_xm, ch_ym;
    reg [(BEAT+1)*CW-1:0]    ch_cm;
    reg [NB*ITEM_W-1:0]      count;        // next free item of every bank, in the job's half
    reg [NB*ITEM_W-1:0]      count_now;    // the counters for this beat (moved on at part 1)
    reg [NB*ITEM_W-1:0]      count_next;
    reg                      cur_part;     // the part of the last beat
    wire                     part_switch = b_part && !cur_part;
    reg [ITEM_W-1:0]         rank;
    reg [ITEM_W-1:0]         taken;
    reg [BANK_W-1:0]         bank;
    wire [ITEM_W-1:0]        half_base = half_q ? HALF_ITEMS[ITEM_W-1:0] : {ITEM_W{1'b0}};
    integer l, m, b;
    always @(*) begin
        ch_x[0 +: DIM_W] = part_switch ? {DIM_W{1'b0}} : cur_x;
        ch_y[0 +: DIM_W] = part_switch ? {DIM_W{1'b0}} : cur_y;
        ch_xm[0 +: KW] = part_switch ? {KW{1'b0}} : cur_xm;
        ch_ym[0 +: KW] = part_switch ? {KW{1'b0}} : cur_ym;
        ch_cm[0 +: CW] = part_switch ? {CW{1'b0}} : cur_cm;
        count_now = count;
        if (part_switch)
            for (b = 0; b < NB; b = b + 1)
                count_now[b*ITEM_W +: ITEM_W] = count[(b % (KMAX_I * KMAX_I))*ITEM_W +: ITEM_W];
        for (l = 0; l < BEAT; l = l + 1) begin
            ch_x[(l+1)*DIM_W +: DIM_W] = ch_x[l*DIM_W +: DIM_W] + 1'b1;
            ch_xm[(l+1)*KW +: KW] = (ch_xm[l*KW +: KW] == KM_LAST) ? {KW{1'b0}} : ch_xm[l*KW +: KW] + 1'b1;
            ch_y[(l+1)*DIM_W +: DIM_W] = ch_y[l*DIM_W +: DIM_W];
            ch_ym[(l+1)*KW +: KW] = ch_ym[l*KW +: KW];
            ch_cm[(l+1)*CW +: CW] = ch_cm[l*CW +: CW];
            if (ch_x[l*DIM_W +: DIM_W] + 1'b1 == width_q) begin   // end of a row
                ch_x[(l+1)*DIM_W +: DIM_W] = {DIM_W{1'b0}};
                ch_xm[(l+1)*KW +: KW] = {KW{1'b0}};
                ch_y[(l+1)*DIM_W +: DIM_W] = ch_y[l*DIM_W +: DIM_W] + 1'b1;
                ch_ym[(l+1)*KW +: KW] = (ch_ym[l*KW +: KW] == KM_LAST) ? {KW{1'b0}} : ch_ym[l*KW +: KW] + 1'b1;
                if (ch_y[l*DIM_W +: DIM_W] + 1'b1 == rows_q) begin  // end of a channel
                    ch_y[(l+1)*DIM_W +: DIM_W] = {DIM_W{1'b0}};
                    ch_ym[(l+1)*KW +: KW] = {KW{1'b0}};
                    ch_cm[(l+1)*CW +: CW] = (ch_cm[l*CW +: CW] == CM_LAST) ? {CW{1'b0}} : ch_cm[l*CW +: CW] + 1'b1;
                end
            end
        end
        count_next = count_now;
        lane_valid = {BEAT{1'b0}};
        lane_bank = {BEAT*BANK_W{1'b0}};
        lane_item = {BEAT*ITEM_W{1'b0}};
        bank = {BANK_W{1'b0}};
        rank = {ITEM_W{1'b0}};
        if (b_valid) for (l = 0; l < BEAT; l = l + 1) begin   // (skipped without a beat)
            lane_valid[l] = (l < b_bytes);
            bank = ({{(BANK_W-CW){1'b0}}, ch_cm[l*CW +: CW]} * K_B + {{(BANK_W-KW){1'b0}}, ch_ym[l*KW +: KW]}) * K_B
                 + {{(BANK_W-KW){1'b0}}, ch_xm[l*KW +: KW]};
            lane_bank[l*BANK_W +: BANK_W] = bank;
            rank = {ITEM_W{1'b0}};
            for (m = 0; m < l; m = m + 1)
                if (lane_bank[m*BANK_W +: BANK_W] == bank) rank = rank + 1'b1;
            lane_item[l*ITEM_W +: ITEM_W] = half_base + count_now[bank*ITEM_W +: ITEM_W] + rank;
        end
        for (b = 0; b < NB; b = b + 1) begin   // every bank advances by the lanes it took
            taken = {ITEM_W{1'b0}};
            for (l = 0; l < BEAT; l = l + 1)
                if (lane_valid[l] && lane_bank[l*BANK_W +: BANK_W] == b[BANK_W-1:0]) taken = taken + 1'b1;
            count_next[b*ITEM_W +: ITEM_W] = count_now[b*ITEM_W +: ITEM_W] + taken;
        end
    end

    always @(posedge clk) begin
        if (rst || (start && !busy)) begin
            cur_x <= {DIM_W{1'b0}};
            cur_y <= {DIM_W{1'b0}};
            cur_xm <= {KW{1'b0}};
            cur_ym <= {KW{1'b0}};
            cur_cm <= {CW{1'b0}};
            count <= {NB*ITEM_W{1'b0}};
            cur_part <= 1'b0;
        end else if (b_valid) begin
            cur_part <= b_part;
            cur_x <= ch_x[b_lanes*DIM_W +: DIM_W];
            cur_y <= ch_y[b_lanes*DIM_W +: DIM_W];
            cur_xm <= ch_xm[b_lanes*KW +: KW];
            cur_ym <= ch_ym[b_lanes*KW +: KW];
            cur_cm <= ch_cm[b_lanes*CW +: CW];
            count <= count_next;
        end
    end
endmodule
