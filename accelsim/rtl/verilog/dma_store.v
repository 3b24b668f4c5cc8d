// The store DMA engine: writes each tile's outputs from the output buffer to DDR.
//
// A tile's store (docs/microarchitecture.md, section 5) is one segment per output row of the
// tile: the row's W_out pixels of the tile's channel block, TN bytes each, pixel-major. Each
// segment starts a new beat. With PPB = 8*BEAT / (TN*A) >= 1 pixels per beat, beat k of row y
// carries pixels y*W_out + k*PPB + e (lane e), which lie in distinct output memories (RAMS = PPB);
// with a pixel wider than a beat, beat k carries slice k mod SUB of pixel y*W_out + k / SUB.
//
// A prefetcher reads the beats ahead of the channel into a FIFO of FIFO_DEPTH beats, so that a
// beat the DDR takes in the cycle after the grant (the shortest latency) is ready: it reads tile `pf` (the
// oldest tile not yet prefetched) as soon as that tile's outputs are all written (pf_ready) and
// the FIFO has room, one beat per cycle (read, then select and push); a beat read in cycle t can
// be taken from cycle t + 2. A beat taken from an empty FIFO raises `underrun` (a violated timing
// contract, never expected).
module dma_store #(
    parameter TN        = 8,
    parameter A         = 8,
    parameter BEAT      = 8,
    parameter BURST     = 2048,
    parameter RAMS      = 1,      // output memories: max(1, pixels per beat)
    parameter HALF_ROWS = 1024,
    parameter STAMP_W   = 32,
    parameter ADDR_W    = 32,
    parameter BEATS_W   = 24,
    parameter DIM_W     = 12,
    parameter ROW_W     = $clog2(2 * HALF_ROWS)
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [STAMP_W-1:0]        now,
    // the store job (request side)
    input  wire                      start,
    input  wire [ADDR_W-1:0]         part_base,
    input  wire [ADDR_W-1:0]         part_seg,     // bytes of a row segment
    input  wire [ADDR_W-1:0]         part_stride,  // DDR bytes from one row to the next
    input  wire [BEATS_W-1:0]        part_bps,     // beats per row segment
    input  wire [BEATS_W-1:0]        part_beats,   // beats of the store
    output wire                      job_done,
    output wire                      job_ending,   // the store's last beat is in this cycle
    // the tile being prefetched
    input  wire                      pf_ready,     // its outputs are all in the buffer
    input  wire                      pf_half,
    input  wire [DIM_W-1:0]          pf_rows,      // its output rows
    input  wire [DIM_W-1:0]          width,        // W_out
    output wire                      pf_done,      // its last beat is read this cycle
    // output buffer reads
    output wire                      rd_en,
    output reg  [RAMS*ROW_W-1:0]     rd_row,
    input  wire [RAMS*TN*A-1:0]      rd_words,
    // arbiter port
    output wire                      req_valid,
    output wire [STAMP_W-1:0]        req_stamp,
    output wire [ADDR_W-1:0]         req_base,
    output wire [ADDR_W-1:0]         req_seg,
    output wire [ADDR_W-1:0]         req_stride,
    output wire [BEATS_W-1:0]        req_bps,
    output wire [BEATS_W-1:0]        req_offset,
    output wire [BEATS_W-1:0]        req_beats,
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
    localparam integer PIXEL = TN * A / 8;                  // bytes per pixel
    localparam integer SUB   = (PIXEL > BEAT) ? PIXEL / BEAT : 1;   // beats per pixel
    localparam SUB_W = (SUB > 1) ? $clog2(SUB) : 1;
    localparam RAM_B = (RAMS > 1) ? $clog2(RAMS) : 0;
    localparam RAM_W = (RAMS > 1) ? RAM_B : 1;
    // a pixel index within both halves (and room for a row's width more)
    localparam PIX_W = (ROW_W + RAM_B > DIM_W) ? ROW_W + RAM_B + 1 : DIM_W + 1;
    localparam integer HALF_PIX_I = HALF_ROWS * RAMS;
    localparam [PIX_W-1:0] HALF_PIX = HALF_PIX_I[PIX_W-1:0];
    localparam integer RAMS_I = RAMS;
    localparam [PIX_W-1:0] STEP = RAMS_I[PIX_W-1:0];        // pixels per beat (PPB >= 1 case)
    localparam [BEATS_W-1:0] RAMS_B = RAMS_I[BEATS_W-1:0];

    wire data_beat;
    /* verilator lint_off PINCONNECTEMPTY */
    dma_requester #(
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BEATS_W(BEATS_W), .BEAT(BEAT), .BURST(BURST)
    ) u_req (
        .clk(clk), .rst(rst), .now(now), .start(start), .two_parts(1'b0),
        .job_base({{ADDR_W{1'b0}}, part_base}), .job_seg(part_seg), .job_stride(part_stride),
        .job_bps(part_bps), .job_beats(part_beats), .part(),
        .req_valid(req_valid), .req_stamp(req_stamp), .req_base(req_base), .req_seg(req_seg),
        .req_stride(req_stride), .req_bps(req_bps), .req_offset(req_offset), .req_beats(req_beats),
        .grant(grant), .beat(beat), .beat_last(beat_last), .data_beat(data_beat),
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

    // ---- prefetch walker: row y of the tile and beat k of the row (kept as y + 1 and k + 1, the
    // counts with the current one, so that the ends are equality tests of registers), the beat's
    // first pixel and slice
    reg [DIM_W-1:0]   row1;
    reg [BEATS_W-1:0] k1;
    reg [PIX_W-1:0]   pix, row_pix;          // within both halves (the tile's half base included)
    reg [SUB_W-1:0]   slice;
    reg               walking;               // the walker holds the current tile's position
    wire [BEATS_W-1:0] bps = (SUB > 1) ? ({{(BEATS_W-DIM_W){1'b0}}, width} << SUB_W)
                                       : ({{(BEATS_W-DIM_W){1'b0}}, width} + RAMS_B - 1'b1) >> RAM_B;
    wire [PIX_W-1:0]  base = pf_half ? HALF_PIX : {PIX_W{1'b0}};
    wire [PIX_W-1:0]  cur_pix = walking ? pix : base;
    wire [PIX_W-1:0]  cur_row_pix = walking ? row_pix : base;
    wire [DIM_W-1:0]  cur_row1 = walking ? row1 : {{(DIM_W-1){1'b0}}, 1'b1};
    wire [BEATS_W-1:0] cur_k1 = walking ? k1 : {{(BEATS_W-1){1'b0}}, 1'b1};
    wire [SUB_W-1:0]  cur_slice = walking ? slice : {SUB_W{1'b0}};
    wire [2:0] pending = count + {2'b0, s_valid};
    wire issue = pf_ready && (pending < FIFO_DEPTH) && !rst;
    wire row_end = (cur_k1 == bps);
    assign rd_en = issue;
    assign pf_done = issue && row_end && (cur_row1 == pf_rows);

    // each memory reads the row of its pixel among the beat's RAMS pixels: memory r holds pixel
    // p = first pixel + ((r - first pixel) mod RAMS), at row p / RAMS
    wire [RAM_W-1:0] first_ram;
    generate
        if (RAMS > 1) begin : g_first
            integer r;
            assign first_ram = cur_pix[RAM_B-1:0];
            always @(*) begin
                for (r = 0; r < RAMS; r = r + 1)
                    rd_row[r*ROW_W +: ROW_W] = cur_pix[RAM_B +: ROW_W]
                                              + ((r[RAM_W-1:0] < first_ram) ? {{(ROW_W-1){1'b0}}, 1'b1} : {ROW_W{1'b0}});
            end
        end else begin : g_one
            assign first_ram = 1'b0;
            always @(*) rd_row = cur_pix[ROW_W-1:0];
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            walking <= 1'b0;
        end else if (issue) begin
            walking <= !pf_done;
            if (row_end) begin
                row1 <= cur_row1 + 1'b1;
                k1 <= {{(BEATS_W-1){1'b0}}, 1'b1};
                pix <= cur_row_pix + {{(PIX_W-DIM_W){1'b0}}, width};
                row_pix <= cur_row_pix + {{(PIX_W-DIM_W){1'b0}}, width};
                slice <= {SUB_W{1'b0}};
            end else begin
                row1 <= cur_row1;
                k1 <= cur_k1 + 1'b1;
                row_pix <= cur_row_pix;
                if (SUB > 1) begin
                    slice <= cur_slice + 1'b1;
                    pix <= (cur_slice == SUB[SUB_W-1:0] - 1'b1) ? cur_pix + 1'b1 : cur_pix;
                end else begin
                    pix <= cur_pix + STEP;
                end
            end
        end
    end

    // ---- select stage: the words read -> one beat
    function [RAM_W-1:0] lane_ram(input [RAM_W-1:0] first, input integer lane);
        /* verilator lint_off UNUSEDSIGNAL */
        reg [31:0] sum;
        /* verilator lint_on UNUSEDSIGNAL */
        begin
            sum = {{(32-RAM_W){1'b0}}, first} + lane;
            lane_ram = (RAMS > 1) ? sum[RAM_W-1:0] : {RAM_W{1'b0}};
        end
    endfunction
    /* verilator lint_off UNUSEDSIGNAL */   // a slice (pixels wider than a beat) or a first memory
    reg [RAM_W-1:0] s_first;
    reg [SUB_W-1:0] s_slice;
    /* verilator lint_on UNUSEDSIGNAL */
    wire [8*BEAT-1:0] s_beat;
    generate
        if (SUB > 1) begin : g_slice
            assign s_beat = rd_words[s_slice*8*BEAT +: 8*BEAT];
        end else begin : g_pixels
            reg [8*BEAT-1:0] lanes;
            integer e;
            always @(*) begin
                lanes = {8*BEAT{1'b0}};
                for (e = 0; e < RAMS; e = e + 1)   // lane e: memory (first + e) mod RAMS
                    lanes[e*TN*A +: TN*A] = rd_words[lane_ram(s_first, e)*TN*A +: TN*A];
            end
            assign s_beat = lanes;
        end
    endgenerate

    always @(posedge clk) begin
        if (rst) begin
            s_valid <= 1'b0;
            count <= 3'd0;
            head <= 2'd0;
            tail <= 2'd0;
            underrun <= 1'b0;
        end else begin
            s_valid <= issue;
            s_first <= first_ram;
            s_slice <= cur_slice;
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
