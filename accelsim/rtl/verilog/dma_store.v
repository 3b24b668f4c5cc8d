// The store DMA engine: writes each tile's outputs from the output buffer to DDR.
//
// The transfer is channel-major, (channel, pixel) with the pixel fastest, as in DDR; its write
// beats follow the request split of dma_requester (requests of at most BURST bytes, beats of at
// most BEAT bytes). A prefetcher reads the beats ahead of the channel into a FIFO of FIFO_DEPTH
// beats, so that a beat the DDR takes in the cycle of the grant (zero latency) is ready: it reads
// tile `pf` (the oldest tile not yet prefetched) as soon as that tile's outputs are all written
// (pf_ready) and the FIFO has room, one beat per cycle (read, then select and push); a beat read
// in cycle t can be taken from cycle t + 2.
// A beat taken from an empty FIFO raises `underrun` (a violated timing contract, never expected).
module dma_store #(
    parameter TN         = 8,
    parameter A          = 8,
    parameter BEAT       = 8,
    parameter BURST      = 2048,
    parameter SLOTS      = 8,
    parameter HALF_ITEMS = 1024,
    parameter STAMP_W    = 32,
    parameter ADDR_W     = 32,
    parameter BYTES_W    = 16,
    parameter PIX_W      = 16,
    parameter ITEM_W     = $clog2(2 * HALF_ITEMS),
    parameter SLOT_BITS  = (SLOTS > 1) ? $clog2(SLOTS) : 0,
    parameter RADDR_W    = ITEM_W - SLOT_BITS - 1,
    parameter ROW_W      = (TN > 1) ? $clog2(TN) : 1
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [STAMP_W-1:0]        now,
    // the store job (request side)
    input  wire                      start,
    input  wire [ADDR_W-1:0]         part_base,
    input  wire [ADDR_W-1:0]         part_seg,
    input  wire [ADDR_W-1:0]         part_stride,
    input  wire [ADDR_W-1:0]         part_bytes,
    output wire                      job_done,
    output wire                      job_ending,   // the store's last beat is in this cycle
    // the tile being prefetched
    input  wire                      pf_ready,     // its outputs are all in the buffer
    input  wire                      pf_half,
    input  wire [PIX_W-1:0]          pf_pixels,    // pixels per channel
    input  wire [ADDR_W-1:0]         pf_bytes,     // bytes of its store
    output wire                      pf_done,      // its last beat is read this cycle
    // output buffer reads
    output wire                      rd_en,
    output reg  [TN*2*RADDR_W-1:0]   rd_addr,
    input  wire [TN*2*SLOTS*A-1:0]   rd_words,
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
    output wire [8*BEAT-1:0]         wr_data,
    output reg                       underrun,
    // trace
    output wire                      trace_valid,
    output wire                      trace_part,
    output wire [STAMP_W-1:0]        trace_start
);
    localparam FIFO_DEPTH = 4;
    localparam integer BEAT_I = BEAT, BURST_I = BURST;
    localparam [ADDR_W-1:0] BEAT_A = BEAT_I[ADDR_W-1:0];
    localparam [ADDR_W-1:0] BURST_A = BURST_I[ADDR_W-1:0];
    localparam SLOT_W = (SLOTS > 1) ? SLOT_BITS : 1;

    wire data_beat;
    /* verilator lint_off PINCONNECTEMPTY */
    dma_requester #(
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BYTES_W(BYTES_W), .BEAT(BEAT), .BURST(BURST)
    ) u_req (
        .clk(clk), .rst(rst), .now(now), .start(start), .two_parts(1'b0),
        .job_base({{ADDR_W{1'b0}}, part_base}), .job_seg({{ADDR_W{1'b0}}, part_seg}),
        .job_stride({{ADDR_W{1'b0}}, part_stride}), .job_bytes({{ADDR_W{1'b0}}, part_bytes}), .part(),
        .req_valid(req_valid), .req_stamp(req_stamp), .req_base(req_base), .req_seg(req_seg),
        .req_stride(req_stride), .req_offset(req_offset), .req_bytes(req_bytes),
        .grant(grant), .beat(beat), .beat_last(beat_last),
        .data_beat(data_beat), .beat_offset(), .beat_bytes(),
        .busy(), .job_ending(job_ending), .job_done(job_done),
        .trace_valid(trace_valid), .trace_part(trace_part), .trace_start(trace_start)
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // ---- FIFO of prefetched beats
    reg [8*BEAT-1:0] fifo [0:FIFO_DEPTH-1];
    reg [2:0]        count;
    reg [1:0]        head, tail;
    reg              s_valid;                // a beat in the select stage
    wire             push = s_valid;
    wire             pop  = data_beat && (count != 3'd0);
    assign wr_data = fifo[head];

    // ---- prefetch: issue one beat read per cycle while the FIFO has room
    reg [ADDR_W-1:0] pos;        // transfer byte of the next beat
    reg [ADDR_W-1:0] req_end;    // end of the request containing it
    reg [ROW_W-1:0]  cur_i;      // its channel and pixel
    reg [PIX_W-1:0]  cur_p;
    wire [2:0] pending = count + {2'b0, s_valid};
    wire issue = pf_ready && (pending < FIFO_DEPTH) && !rst;
    wire [ADDR_W-1:0] limit = (req_end < pf_bytes) ? req_end : pf_bytes;
    wire [ADDR_W-1:0] span = limit - pos;
    wire [ADDR_W-1:0] nb = (span < BEAT_A) ? span : BEAT_A;
    localparam NB_W = $clog2(BEAT + 1);
    wire [NB_W-1:0] nb_lanes = nb[NB_W-1:0];   // nb <= BEAT: the lane count, narrow for the selects
    assign rd_en = issue;
    assign pf_done = issue && (pos + nb == pf_bytes);

    reg  [(BEAT+1)*ROW_W-1:0] ch_i;
    reg  [(BEAT+1)*PIX_W-1:0] ch_p;
    reg  [BEAT-1:0]           l_valid;
    reg  [BEAT*ROW_W-1:0]     l_chan;
    reg  [BEAT-1:0]           l_ram;    // RAM and slot of every lane's item
    reg  [BEAT*SLOT_W-1:0]    l_slot;
    /* verilator lint_off UNUSEDSIGNAL */
    reg  [ITEM_W-1:0]         item;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [ITEM_W-1:0] half_base = pf_half ? HALF_ITEMS[ITEM_W-1:0] : {ITEM_W{1'b0}};
    integer l, c;
    always @(*) begin
        ch_i = {(BEAT+1)*ROW_W{1'b0}};
        ch_p = {(BEAT+1)*PIX_W{1'b0}};
        l_valid = {BEAT{1'b0}};
        l_chan = {BEAT*ROW_W{1'b0}};
        l_ram = {BEAT{1'b0}};
        l_slot = {BEAT*SLOT_W{1'b0}};
        item = {ITEM_W{1'b0}};
        rd_addr = {TN*2*RADDR_W{1'b0}};
        if (issue) begin
            ch_i[0 +: ROW_W] = cur_i;
            ch_p[0 +: PIX_W] = cur_p;
            for (l = 0; l < BEAT; l = l + 1) begin
                if (ch_p[l*PIX_W +: PIX_W] + 1'b1 == pf_pixels) begin
                    ch_p[(l+1)*PIX_W +: PIX_W] = {PIX_W{1'b0}};
                    ch_i[(l+1)*ROW_W +: ROW_W] = ch_i[l*ROW_W +: ROW_W] + 1'b1;
                end else begin
                    ch_p[(l+1)*PIX_W +: PIX_W] = ch_p[l*PIX_W +: PIX_W] + 1'b1;
                    ch_i[(l+1)*ROW_W +: ROW_W] = ch_i[l*ROW_W +: ROW_W];
                end
                l_valid[l] = (l < nb);
                l_chan[l*ROW_W +: ROW_W] = ch_i[l*ROW_W +: ROW_W];
                item = half_base + ch_p[l*PIX_W +: ITEM_W];
                l_ram[l] = item[SLOT_BITS];
                l_slot[l*SLOT_W +: SLOT_W] = (SLOTS > 1) ? item[SLOT_W-1:0] : {SLOT_W{1'b0}};
                // every lane of a channel reads the same word of the RAM it names
                for (c = 0; c < 2 * TN; c = c + 1)   // RAM c%2 of channel c/2: constant indices
                    if (l_valid[l] && ch_i[l*ROW_W +: ROW_W] == c[ROW_W:1] && item[SLOT_BITS] == c[0])
                        rd_addr[c*RADDR_W +: RADDR_W] = rd_addr[c*RADDR_W +: RADDR_W] | item[ITEM_W-1 -: RADDR_W];
            end
        end
    end

    // ---- select stage: the read words -> one beat
    reg [BEAT-1:0]        s_lane_valid;
    reg [BEAT*ROW_W-1:0]  s_chan;
    reg [BEAT-1:0]        s_ram;
    /* verilator lint_off UNUSEDSIGNAL */
    reg [BEAT*SLOT_W-1:0] s_slot;   // unused with one slot per word
    /* verilator lint_on UNUSEDSIGNAL */
    reg [8*BEAT-1:0]      s_beat;
    // lane e's item in rd_words: {channel, RAM, slot}, as narrow as the read words need
    localparam PICK_W = ROW_W + 1 + SLOT_BITS;
    wire [BEAT*PICK_W-1:0] pick;
    genvar g;
    generate
        for (g = 0; g < BEAT; g = g + 1) begin : g_pick
            if (SLOTS > 1) begin : g_slots
                assign pick[g*PICK_W +: PICK_W] = {s_chan[g*ROW_W +: ROW_W], s_ram[g], s_slot[g*SLOT_W +: SLOT_W]};
            end else begin : g_word
                assign pick[g*PICK_W +: PICK_W] = {s_chan[g*ROW_W +: ROW_W], s_ram[g]};
            end
        end
    endgenerate
    integer e;
    always @(*) begin
        s_beat = {8*BEAT{1'b0}};
        for (e = 0; e < BEAT; e = e + 1)
            if (s_lane_valid[e])
                s_beat[e*8 +: A] = rd_words[pick[e*PICK_W +: PICK_W]*A +: A];
    end

    always @(posedge clk) begin
        if (rst) begin
            s_valid <= 1'b0;
            count <= 3'd0;
            head <= 2'd0;
            tail <= 2'd0;
            pos <= {ADDR_W{1'b0}};
            req_end <= BURST_A;
            cur_i <= {ROW_W{1'b0}};
            cur_p <= {PIX_W{1'b0}};
            underrun <= 1'b0;
        end else begin
            s_valid <= issue;
            s_lane_valid <= l_valid;
            s_chan <= l_chan;
            s_ram <= l_ram;
            s_slot <= l_slot;
            if (issue) begin
                if (pf_done) begin    // the tile's last beat: on to the next tile
                    pos <= {ADDR_W{1'b0}};
                    req_end <= BURST_A;
                    cur_i <= {ROW_W{1'b0}};
                    cur_p <= {PIX_W{1'b0}};
                end else begin
                    pos <= pos + nb;
                    if (pos + nb == req_end) req_end <= req_end + BURST_A;
                    cur_i <= ch_i[nb_lanes*ROW_W +: ROW_W];
                    cur_p <= ch_p[nb_lanes*PIX_W +: PIX_W];
                end
            end
            if (push) begin
                fifo[tail] <= s_beat;
                tail <= tail + 1'b1;
            end
            if (pop) head <= head + 1'b1;
            count <= count + {2'b0, push} - {2'b0, pop};
            if (data_beat && count == 3'd0) underrun <= 1'b1;
        end
    end
endmodule
