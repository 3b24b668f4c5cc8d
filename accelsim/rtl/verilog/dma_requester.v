// The request side of one DMA engine: runs a job of up to two transfers ("parts", e.g. the two
// operands of a residual add), each split into requests of at most BURST bytes, one request
// outstanding at a time (docs/microarchitecture.md, section 7).
//
// A job starts when `start` is high in IDLE; its first request is made in that same cycle. The
// next request of a transfer is made in the cycle its previous request ends (the cycle after the
// last beat); the first request of part 1 is made in the cycle part 0 ends. Each request carries
// the cycle it was made (its stamp) for the arbiter. The engine's datapath sees every beat with
// the byte offset of its first byte in the transfer and its byte count.
//
// At the end of each transfer the requester reports (trace_valid) the part, the cycle of the
// grant of its first request and the end cycle (the current cycle); at the end of the job
// `job_done` is high for one cycle, the cycle the last request ends.
module dma_requester #(
    parameter STAMP_W = 32,
    parameter ADDR_W  = 32,
    parameter BYTES_W = 16,   // bits of a request's byte count (BURST fits)
    parameter BEAT    = 8,    // bytes per beat
    parameter BURST   = 2048  // largest request, bytes
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [STAMP_W-1:0] now,
    input  wire               start,
    input  wire               two_parts,
    // the job's transfers (sampled when the job starts): part p at bits [p*ADDR_W +: ADDR_W]
    input  wire [2*ADDR_W-1:0] job_base,
    input  wire [2*ADDR_W-1:0] job_seg,
    input  wire [2*ADDR_W-1:0] job_stride,
    input  wire [2*ADDR_W-1:0] job_bytes,
    output wire               part,
    // request to the arbiter
    output wire               req_valid,
    output wire [STAMP_W-1:0] req_stamp,
    output wire [ADDR_W-1:0]  req_base,
    output wire [ADDR_W-1:0]  req_seg,
    output wire [ADDR_W-1:0]  req_stride,
    output wire [ADDR_W-1:0]  req_offset,
    output wire [BYTES_W-1:0] req_bytes,
    input  wire               grant,
    input  wire               beat,
    input  wire               beat_last,
    // to the engine's datapath
    output wire               data_beat,    // a beat of this engine in this cycle
    output wire [ADDR_W-1:0]  beat_offset,  // transfer byte offset of its first byte
    output wire [BYTES_W-1:0] beat_bytes,   // bytes it carries
    output wire               busy,
    output wire               job_ending,   // the job's last beat is in this cycle
    output reg                job_done,
    output reg                trace_valid,
    output reg                trace_part,
    output reg  [STAMP_W-1:0] trace_start
);
    localparam IDLE = 2'd0, REQ = 2'd1, XFER = 2'd2;
    reg [1:0]         state;
    reg               two_q;
    reg               part_q;
    reg [STAMP_W-1:0] stamp_q;
    reg [ADDR_W-1:0]  offset_q;
    reg [BYTES_W-1:0] beat_q;        // beats already received in the current request
    reg [STAMP_W-1:0] first_grant_q; // grant of the current transfer's first request
    reg [2*ADDR_W-1:0] base_q, seg_q, stride_q, bytes_q;

    // the job's transfers: the inputs in the start cycle, then the sampled copies
    wire               fresh = (state == IDLE);
    wire [2*ADDR_W-1:0] all_base   = fresh ? job_base : base_q;
    wire [2*ADDR_W-1:0] all_seg    = fresh ? job_seg : seg_q;
    wire [2*ADDR_W-1:0] all_stride = fresh ? job_stride : stride_q;
    wire [2*ADDR_W-1:0] all_bytes  = fresh ? job_bytes : bytes_q;
    wire [ADDR_W-1:0]  part_bytes = all_bytes[part*ADDR_W +: ADDR_W];
    assign req_base   = all_base[part*ADDR_W +: ADDR_W];
    assign req_seg    = all_seg[part*ADDR_W +: ADDR_W];
    assign req_stride = all_stride[part*ADDR_W +: ADDR_W];

    localparam integer BEAT_I = BEAT, BURST_I = BURST;
    wire [ADDR_W-1:0] remaining = part_bytes - offset_q;
    wire [ADDR_W-1:0] burst_w   = BURST_I[ADDR_W-1:0];
    assign req_bytes  = (remaining > burst_w) ? BURST_I[BYTES_W-1:0] : remaining[BYTES_W-1:0];
    assign req_offset = offset_q;
    assign req_valid  = (state == REQ) || (state == IDLE && start);
    assign req_stamp  = (state == REQ) ? stamp_q : now;
    assign busy       = (state != IDLE);
    assign part       = (state == IDLE) ? 1'b0 : part_q;
    wire   two        = (state == IDLE) ? two_parts : two_q;

    wire in_flight = (state == XFER) || (req_valid && grant);
    wire [BYTES_W-1:0] beat_index = (state == XFER) ? beat_q : {BYTES_W{1'b0}};
    wire [BYTES_W-1:0] beat_w = BEAT_I[BYTES_W-1:0];
    wire [BYTES_W-1:0] beat_done = beat_index * beat_w;
    wire [BYTES_W-1:0] beat_left = req_bytes - beat_done;
    assign data_beat   = in_flight && beat;
    assign beat_offset = offset_q + {{(ADDR_W-BYTES_W){1'b0}}, beat_done};
    assign beat_bytes  = (beat_left > beat_w) ? beat_w : beat_left;

    wire request_ends = data_beat && beat_last;
    wire part_ends    = request_ends && (remaining <= burst_w);
    assign job_ending = part_ends && !(two && !part);

    always @(posedge clk) begin
        job_done    <= 1'b0;
        trace_valid <= 1'b0;
        if (rst) begin
            state <= IDLE;
            part_q <= 1'b0;
            offset_q <= {ADDR_W{1'b0}};
            beat_q <= {BYTES_W{1'b0}};
        end else begin
            if (state == IDLE && start) begin
                stamp_q <= now;          // the first request is made in the start cycle
                two_q <= two_parts;
                part_q <= 1'b0;
                base_q <= job_base;
                seg_q <= job_seg;
                stride_q <= job_stride;
                bytes_q <= job_bytes;
                state <= REQ;
            end
            if (req_valid && grant) begin
                state <= XFER;
                beat_q <= {BYTES_W{1'b0}};
                if (offset_q == {ADDR_W{1'b0}}) first_grant_q <= now;
            end
            if (data_beat) beat_q <= beat_index + 1'b1;
            if (request_ends) begin
                stamp_q <= now + 1'b1;   // the next request is made when this one ends
                if (!part_ends) begin
                    offset_q <= offset_q + burst_w;
                    state <= REQ;
                end else begin
                    trace_valid <= 1'b1;
                    trace_part  <= part;
                    trace_start <= (offset_q == {ADDR_W{1'b0}} && state != XFER) ? now : first_grant_q;
                    offset_q <= {ADDR_W{1'b0}};
                    if (two && !part) begin
                        part_q <= 1'b1;
                        state <= REQ;
                    end else begin
                        job_done <= 1'b1;
                        state <= IDLE;
                    end
                end
            end
        end
    end
endmodule
