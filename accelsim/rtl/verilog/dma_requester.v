// The request side of one DMA engine: runs a job of up to two transfers ("parts", e.g. the two
// operands of a residual add), each split into requests of at most BURST / BEAT beats, one
// request outstanding at a time (docs/microarchitecture.md, section 7).
//
// A transfer is `segs` segments of `seg` bytes, `stride` bytes apart in DDR from `base`; each
// segment starts a new beat, so it is `bps = ceil(seg / BEAT)` beats per segment and `beats`
// beats in all (given: segs * bps, a product the caller knows without multiplying). A request
// carries the transfer's shape and the beat offset and beat count of its part of it.
//
// A job starts when `start` is high in IDLE; its first request is made in that same cycle. The
// next request of a transfer is made in the cycle its previous request ends (the cycle after the
// last beat); the first request of part 1 is made in the cycle part 0 ends. Each request carries
// the cycle it was made (its stamp) for the arbiter. The engine's datapath sees every beat; the
// first comes at least a cycle after the grant (the RTL needs ddr.latency_cycles >= 1), so no
// beat depends on a grant in its own cycle.
//
// At the end of each transfer the requester reports (trace_valid) the part, the cycle of the
// grant of its first request and the end cycle (the current cycle); at the end of the job
// `job_done` is high for one cycle, the cycle the last request ends.
module dma_requester #(
    parameter STAMP_W = 32,
    parameter ADDR_W  = 32,
    parameter BEATS_W = 24,   // bits of a transfer's beat count
    parameter BEAT    = 8,    // bytes per beat
    parameter BURST   = 2048  // largest request, bytes (a whole number of beats)
) (
    input  wire               clk,
    input  wire               rst,
    input  wire [STAMP_W-1:0] now,
    input  wire               start,
    input  wire               two_parts,
    // the job's transfers (sampled when the job starts): part p at bits [p*ADDR_W +: ADDR_W]
    input  wire [2*ADDR_W-1:0]  job_base,
    input  wire [ADDR_W-1:0]    job_seg,      // both parts have the same shape
    input  wire [ADDR_W-1:0]    job_stride,
    input  wire [BEATS_W-1:0]   job_bps,
    input  wire [BEATS_W-1:0]   job_beats,
    output wire               part,
    // request to the arbiter
    output wire               req_valid,
    output wire [STAMP_W-1:0] req_stamp,
    output wire [ADDR_W-1:0]  req_base,
    output wire [ADDR_W-1:0]  req_seg,
    output wire [ADDR_W-1:0]  req_stride,
    output wire [BEATS_W-1:0] req_bps,
    output wire [BEATS_W-1:0] req_offset,   // beats of the transfer before this request
    output wire [BEATS_W-1:0] req_beats,    // beats of this request
    input  wire               grant,
    input  wire               beat,
    input  wire               beat_last,
    // to the engine's datapath
    output wire               data_beat,    // a beat of this engine in this cycle
    output wire               busy,
    output wire               job_ending,   // the job's last beat is in this cycle
    output reg                job_done,
    output reg                trace_valid,
    output reg                trace_part,
    output reg  [STAMP_W-1:0] trace_start
);
    localparam IDLE = 2'd0, REQ = 2'd1, XFER = 2'd2;
    localparam integer PER_REQUEST = BURST / BEAT;
    localparam [BEATS_W-1:0] PER_REQ = PER_REQUEST[BEATS_W-1:0];
    reg [1:0]          state;
    reg                two_q, part_q;
    reg [STAMP_W-1:0]  stamp_q;
    reg [BEATS_W-1:0]  offset_q;      // beats of the transfer before the current request
    reg [STAMP_W-1:0]  first_grant_q; // grant of the current transfer's first request
    reg [2*ADDR_W-1:0] base_q;
    reg [ADDR_W-1:0]   seg_q, stride_q;
    reg [BEATS_W-1:0]  bps_q, beats_q;

    // the job: the inputs in the start cycle, then the sampled copies
    wire               fresh   = (state == IDLE);
    wire [2*ADDR_W-1:0] all_base = fresh ? job_base : base_q;
    wire [BEATS_W-1:0] total   = fresh ? job_beats : beats_q;
    assign req_base   = all_base[part*ADDR_W +: ADDR_W];
    assign req_seg    = fresh ? job_seg : seg_q;
    assign req_stride = fresh ? job_stride : stride_q;
    assign req_bps    = fresh ? job_bps : bps_q;

    wire [BEATS_W-1:0] remaining = total - offset_q;
    assign req_beats  = (remaining > PER_REQ) ? PER_REQ : remaining;
    assign req_offset = offset_q;
    assign req_valid  = (state == REQ) || (state == IDLE && start);
    assign req_stamp  = (state == REQ) ? stamp_q : now;
    assign busy       = (state != IDLE);
    assign part       = (state == IDLE) ? 1'b0 : part_q;
    wire   two        = (state == IDLE) ? two_parts : two_q;

    assign data_beat = (state == XFER) && beat;

    // whether the current request is its transfer's last, in a register (set when the request is
    // made: no subtraction and comparison between the beat and the transfer's end)
    reg  final_q;
    wire [BEATS_W:0] twice = {PER_REQ, 1'b0};
    wire request_ends = data_beat && beat_last;
    wire part_ends    = request_ends && final_q;
    assign job_ending = part_ends && !(two && !part);

    always @(posedge clk) begin
        job_done    <= 1'b0;
        trace_valid <= 1'b0;
        if (rst) begin
            state <= IDLE;
            part_q <= 1'b0;
            offset_q <= {BEATS_W{1'b0}};
        end else begin
            if (state == IDLE && start) begin
                stamp_q <= now;          // the first request is made in the start cycle
                two_q <= two_parts;
                part_q <= 1'b0;
                base_q <= job_base;
                seg_q <= job_seg;
                stride_q <= job_stride;
                bps_q <= job_bps;
                beats_q <= job_beats;
                final_q <= (job_beats <= PER_REQ);
                state <= REQ;
            end
            if (req_valid && grant) begin
                state <= XFER;
                if (offset_q == {BEATS_W{1'b0}}) first_grant_q <= now;
            end
            if (request_ends) begin
                stamp_q <= now + 1'b1;   // the next request is made when this one ends
                if (!part_ends) begin
                    offset_q <= offset_q + PER_REQ;
                    final_q <= ({1'b0, remaining} <= twice);
                    state <= REQ;
                end else begin
                    trace_valid <= 1'b1;
                    trace_part  <= part;
                    trace_start <= first_grant_q;
                    offset_q <= {BEATS_W{1'b0}};
                    if (two && !part) begin
                        part_q <= 1'b1;
                        final_q <= (beats_q <= PER_REQ);   // part 1 has part 0's shape
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
