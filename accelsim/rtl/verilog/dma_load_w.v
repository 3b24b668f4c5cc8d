// The weight DMA engine: loads one output-channel group's weights and requantization parameters
// into a half of the weight buffer, at the DDR's rate.
//
// The transfer (docs/rtl.md, "Weights in DDR") is the group's (output channel i, input channel c)
// kernels, i outer and c inner, each a PAIR of pair_bits bits packed LSB first with no gaps,
// padded to a byte; then 8 bytes of parameters per output channel. A gearbox collects the pair
// bits of each beat and cuts every completed pair, up to NP per beat; pair (i, c) becomes the
// weight item of unit (i, c mod TM) in step word c / TM (the step of input-channel group
// c / TM). The items of one row in one beat are consecutive slots of consecutive words, so the
// weight buffer's interleaved RAMs take them in one cycle.
//
// Item formats (pe_unit.v): dense kinds, tap (u, v) = code (u*K + v) of the pair for u, v < K,
// 0 (code 0 = weight 0) elsewhere; krp_gsnq, tap v = code v of the pair for v < K and the row
// index from the pair's bits [K*W, K*W + clog2(K)).
module dma_load_w #(
    parameter KIND       = 3,
    parameter TN         = 8,
    parameter TM         = 4,
    parameter KMAX       = 3,
    parameter W          = 4,
    parameter BEAT       = 8,
    parameter BURST      = 2048,
    parameter HALF_WORDS = 512,
    parameter NP         = 16,    // pairs completed per beat, at most
    parameter STAMP_W    = 32,
    parameter ADDR_W     = 32,
    parameter BYTES_W    = 16,
    parameter CH_W       = 16,    // bits of a channel count
    parameter TAPS       = (KIND == 3) ? KMAX : KMAX * KMAX,
    parameter IDX_W      = (KIND == 3 && KMAX > 1) ? $clog2(KMAX) : 0,
    parameter ITEM_W     = TAPS * W + IDX_W,
    parameter PAIR_W     = (KIND == 3) ? KMAX * W + IDX_W : KMAX * KMAX * W,  // widest pair
    parameter PB_W       = $clog2(PAIR_W + 1),
    parameter WORD_W     = $clog2(2 * HALF_WORDS),
    parameter SLOT_W     = (TM > 1) ? $clog2(TM) : 1,
    parameter ROW_W      = (TN > 1) ? $clog2(TN) : 1,
    parameter PBYTE_W    = ROW_W + 4
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [STAMP_W-1:0]        now,
    // the job
    input  wire                      start,
    input  wire                      half,
    input  wire [CH_W-1:0]           channels,    // input channels (pairs per output channel)
    input  wire [CH_W-1:0]           pairs,       // pairs of the group (output channels x channels)
    input  wire [PB_W-1:0]           pair_bits,
    input  wire [3:0]                ksize,       // K
    input  wire [ADDR_W-1:0]         pair_bytes,  // bytes of the pairs (then the parameters)
    input  wire [ADDR_W-1:0]         part_base,
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
    // weight buffer writes
    output reg  [NP-1:0]             lane_valid,
    output reg  [NP*ROW_W-1:0]       lane_row,
    output reg  [NP*WORD_W-1:0]      lane_word,
    output reg  [NP*SLOT_W-1:0]      lane_slot,
    output reg  [NP*ITEM_W-1:0]      lane_data,
    output reg  [BEAT-1:0]           pbyte_valid,
    output reg  [BEAT*PBYTE_W-1:0]   pbyte_index,
    output wire [BEAT*8-1:0]         pbyte_data,
    // trace
    output wire                      trace_valid,
    output wire                      trace_part,
    output wire [STAMP_W-1:0]        trace_start
);
    localparam GB_W = PAIR_W + 8 * BEAT;           // gearbox: leftover bits + one beat
    localparam GB_N = $clog2(GB_W + PAIR_W + 1);  // holds used + pair_bits, up to GB_W + PAIR_W
    localparam integer TM_I = TM;
    localparam [SLOT_W-1:0] J_LAST = TM_I[SLOT_W-1:0] - 1'b1;

    wire               data_beat;
    wire [ADDR_W-1:0]  beat_offset;
    wire [BYTES_W-1:0] beat_bytes;
    wire               busy;
    /* verilator lint_off PINCONNECTEMPTY */
    dma_requester #(
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BYTES_W(BYTES_W), .BEAT(BEAT), .BURST(BURST)
    ) u_req (
        .clk(clk), .rst(rst), .now(now), .start(start), .two_parts(1'b0),
        .job_base({{ADDR_W{1'b0}}, part_base}), .job_seg({{ADDR_W{1'b0}}, part_bytes}),
        .job_stride({{ADDR_W{1'b0}}, part_bytes}), .job_bytes({{ADDR_W{1'b0}}, part_bytes}), .part(),
        .req_valid(req_valid), .req_stamp(req_stamp), .req_base(req_base), .req_seg(req_seg),
        .req_stride(req_stride), .req_offset(req_offset), .req_bytes(req_bytes),
        .grant(grant), .beat(beat), .beat_last(beat_last),
        .data_beat(data_beat), .beat_offset(beat_offset), .beat_bytes(beat_bytes),
        .busy(busy), .job_ending(), .job_done(job_done),
        .trace_valid(trace_valid), .trace_part(trace_part), .trace_start(trace_start)
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // ---- job registers and the registered beat
    reg               half_q;
    reg [CH_W-1:0]    channels_q;
    reg [PB_W-1:0]    pb_q;
    reg [3:0]         k_q;
    reg [ADDR_W-1:0]  pair_bytes_q;
    reg               b_valid;
    reg [8*BEAT-1:0]  b_data;
    reg [BYTES_W-1:0] b_bytes;
    reg [ADDR_W-1:0]  b_offset;
    always @(posedge clk) begin
        b_valid  <= rst ? 1'b0 : data_beat;
        b_data   <= rd_data;
        b_bytes  <= beat_bytes;
        b_offset <= beat_offset;
        if (start && !busy) begin
            half_q <= half;
            channels_q <= channels;
            pb_q <= pair_bits;
            k_q <= ksize;
            pair_bytes_q <= pair_bytes;
        end
    end
    assign pbyte_data = b_data;

    // ---- gearbox state and pair cursor
    reg [PAIR_W-1:0]  left;       // leftover bits of an incomplete pair
    reg [GB_N-1:0]    left_n;
    reg [CH_W-1:0]    pairs_left;
    reg [ROW_W-1:0]   cur_i;
    reg [CH_W-1:0]    cur_c;
    reg [WORD_W-1:0]  cur_g;
    reg [SLOT_W-1:0]  cur_j;

    // bytes of this beat that belong to the pairs, and the gearbox contents
    wire [ADDR_W-1:0] pair_room = (b_offset >= pair_bytes_q) ? {ADDR_W{1'b0}} : pair_bytes_q - b_offset;
    wire [ADDR_W-1:0] beat_n    = {{(ADDR_W-BYTES_W){1'b0}}, b_bytes};
    wire [ADDR_W-1:0] pair_n    = (pair_room < beat_n) ? pair_room : beat_n;
    reg  [8*BEAT-1:0] pair_data;
    reg  [GB_W-1:0]   gear;
    reg  [GB_N-1:0]   gear_n;
    reg  [GB_N-1:0]   used;
    reg  [CH_W-1:0]   taken;
    reg  [(NP+1)*ROW_W-1:0]  ch_i;
    reg  [(NP+1)*CH_W-1:0]   ch_c;
    reg  [(NP+1)*WORD_W-1:0] ch_g;
    reg  [(NP+1)*SLOT_W-1:0] ch_j;
    /* verilator lint_off UNUSEDSIGNAL */
    reg  [GB_W-1:0]   shifted;     // the gearbox from pair u on (the low PAIR_W bits are used)
    reg  [GB_W-1:0]   rest;        // the gearbox after this beat's pairs
    reg  [ADDR_W-1:0] pz;          // parameter byte index of a beat byte (low bits used)
    /* verilator lint_on UNUSEDSIGNAL */
    reg  [PAIR_W-1:0] pair;
    wire [WORD_W-1:0] half_base = half_q ? HALF_WORDS[WORD_W-1:0] : {WORD_W{1'b0}};
    /* verilator lint_off UNUSEDSIGNAL */
    wire [PB_W+GB_N-1:0] pb_wide = {{GB_N{1'b0}}, pb_q};   // pair_bits <= PAIR_W fits GB_N bits
    /* verilator lint_on UNUSEDSIGNAL */
    wire [GB_N-1:0]   pb_n = pb_wide[GB_N-1:0];
    integer e, u, v, kk, q;
    always @(*) begin
        for (e = 0; e < BEAT; e = e + 1)
            pair_data[e*8 +: 8] = (e < pair_n) ? b_data[e*8 +: 8] : 8'd0;
        gear = {{(GB_W-PAIR_W){1'b0}}, left} | ({{PAIR_W{1'b0}}, pair_data} << left_n);
        gear_n = b_valid ? left_n + {pair_n[GB_N-4:0], 3'b000} : left_n;
        // cursor chain over the pairs of this beat (all of it skipped in cycles without a beat)
        {ch_i, ch_c, ch_g, ch_j} = {(NP+1)*(ROW_W+CH_W+WORD_W+SLOT_W){1'b0}};
        {lane_valid, lane_row, lane_word, lane_slot, lane_data} = {NP*(1+ROW_W+WORD_W+SLOT_W+ITEM_W){1'b0}};
        {pbyte_valid, pbyte_index} = {BEAT*(1+PBYTE_W){1'b0}};
        shifted = {GB_W{1'b0}};
        pair = {PAIR_W{1'b0}};
        pz = {ADDR_W{1'b0}};
        used = {GB_N{1'b0}};
        taken = {CH_W{1'b0}};
        if (b_valid) begin
            ch_i[0 +: ROW_W] = cur_i;
            ch_c[0 +: CH_W] = cur_c;
            ch_g[0 +: WORD_W] = cur_g;
            ch_j[0 +: SLOT_W] = cur_j;
            for (u = 0; u < NP; u = u + 1) begin
                lane_valid[u] = (used + pb_n <= gear_n) && (taken < pairs_left);
                if (lane_valid[u]) begin
                    used = used + pb_n;
                    taken = taken + 1'b1;
                end
                if (ch_c[u*CH_W +: CH_W] + 1'b1 == channels_q) begin
                    ch_i[(u+1)*ROW_W +: ROW_W] = ch_i[u*ROW_W +: ROW_W] + 1'b1;
                    ch_c[(u+1)*CH_W +: CH_W] = {CH_W{1'b0}};
                    ch_g[(u+1)*WORD_W +: WORD_W] = {WORD_W{1'b0}};
                    ch_j[(u+1)*SLOT_W +: SLOT_W] = {SLOT_W{1'b0}};
                end else begin
                    ch_i[(u+1)*ROW_W +: ROW_W] = ch_i[u*ROW_W +: ROW_W];
                    ch_c[(u+1)*CH_W +: CH_W] = ch_c[u*CH_W +: CH_W] + 1'b1;
                    if (ch_j[u*SLOT_W +: SLOT_W] == J_LAST) begin
                        ch_j[(u+1)*SLOT_W +: SLOT_W] = {SLOT_W{1'b0}};
                        ch_g[(u+1)*WORD_W +: WORD_W] = ch_g[u*WORD_W +: WORD_W] + 1'b1;
                    end else begin
                        ch_j[(u+1)*SLOT_W +: SLOT_W] = ch_j[u*SLOT_W +: SLOT_W] + 1'b1;
                        ch_g[(u+1)*WORD_W +: WORD_W] = ch_g[u*WORD_W +: WORD_W];
                    end
                end
                lane_row[u*ROW_W +: ROW_W] = ch_i[u*ROW_W +: ROW_W];
                lane_word[u*WORD_W +: WORD_W] = half_base + ch_g[u*WORD_W +: WORD_W];
                lane_slot[u*SLOT_W +: SLOT_W] = ch_j[u*SLOT_W +: SLOT_W];
                shifted = gear >> (u * pb_q);
                pair = shifted[PAIR_W-1:0];
                lane_data[u*ITEM_W +: ITEM_W] = {ITEM_W{1'b0}};
                for (kk = 1; kk <= KMAX; kk = kk + 1) begin
                    if (k_q == kk[3:0]) begin
                        if (KIND == 3) begin
                            for (v = 0; v < kk; v = v + 1)
                                lane_data[u*ITEM_W + v*W +: W] = pair[v*W +: W];
                            for (q = 0; q < IDX_W; q = q + 1)
                                if (q < $clog2(kk)) lane_data[u*ITEM_W + TAPS*W + q] = pair[kk*W + q];
                        end else begin
                            for (v = 0; v < kk * kk; v = v + 1)
                                lane_data[u*ITEM_W + ((v / kk) * KMAX + v % kk)*W +: W] = pair[v*W +: W];
                        end
                    end
                end
            end
            // parameter bytes: byte z of the transfer, z >= pair_bytes, is byte (z - pair_bytes) % 8
            // of channel (z - pair_bytes) / 8
            for (e = 0; e < BEAT; e = e + 1) begin
                pbyte_valid[e] = (e < b_bytes) && (b_offset + e >= pair_bytes_q);
                pz = b_offset + e - pair_bytes_q;
                pbyte_index[e*PBYTE_W +: PBYTE_W] = {half_q, pz[ROW_W+2:0]};
            end
        end
        rest = gear >> used;
    end

    always @(posedge clk) begin
        if (rst || (start && !busy)) begin
            left <= {PAIR_W{1'b0}};
            left_n <= {GB_N{1'b0}};
            pairs_left <= pairs;
            cur_i <= {ROW_W{1'b0}};
            cur_c <= {CH_W{1'b0}};
            cur_g <= {WORD_W{1'b0}};
            cur_j <= {SLOT_W{1'b0}};
        end else if (b_valid) begin
            pairs_left <= pairs_left - taken;
            left <= rest[PAIR_W-1:0];
            // after the last pair the rest of the byte is padding
            left_n <= (pairs_left == taken) ? {GB_N{1'b0}} : gear_n - used;
            cur_i <= ch_i[taken*ROW_W +: ROW_W];
            cur_c <= ch_c[taken*CH_W +: CH_W];
            cur_g <= ch_g[taken*WORD_W +: WORD_W];
            cur_j <= ch_j[taken*SLOT_W +: SLOT_W];
        end
    end
endmodule
