// The input DMA engine: loads the input rows of a row group (one transfer, or two for a residual
// add's operands) into a half of the input buffer, one beat per cycle at the DDR's rate.
//
// The rows arrive as one contiguous run (docs/microarchitecture.md, section 2) and are stored as
// they arrive: beat t of the job (counted across both transfers) is bytes [t*BEAT, (t+1)*BEAT) of
// the half, lane t mod (WORD/BEAT) of word t / (WORD/BEAT): a counter, no address arithmetic per
// byte. An add's operand B therefore starts at byte ceil(bytes_A / BEAT) * BEAT of the half.
module dma_load_in #(
    parameter BEAT       = 8,      // bytes per beat
    parameter BURST      = 2048,
    parameter WORD       = 32,     // bytes per input-buffer word
    parameter HALF_BYTES = 32768,
    parameter STAMP_W    = 32,
    parameter ADDR_W     = 32,
    parameter BEATS_W    = 24,
    parameter WORD_IDX_W = $clog2(2 * HALF_BYTES) - $clog2(WORD),
    parameter LANE_W     = (WORD / BEAT > 1) ? $clog2(WORD / BEAT) : 1
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [STAMP_W-1:0]        now,
    // the job: start it (first request this cycle), its half, its transfers
    input  wire                      start,
    input  wire                      half,
    input  wire [ADDR_W-1:0]         part_base,
    input  wire [ADDR_W-1:0]         part2_base,  // the second transfer (two_parts)
    input  wire                      two_parts,
    input  wire [ADDR_W-1:0]         part_bytes,  // bytes of each transfer (one segment)
    input  wire [BEATS_W-1:0]        part_beats,
    output wire                      job_done,
    output wire                      job_ending,   // the job's last beat is in this cycle
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
    input  wire [8*BEAT-1:0]         rd_data,
    // input buffer writes
    output reg                       wr_valid,
    output wire [WORD_IDX_W-1:0]     wr_word,
    output wire [LANE_W-1:0]         wr_lane,
    output reg  [8*BEAT-1:0]         wr_data,
    // trace: a transfer ended this cycle
    output wire                      trace_valid,
    output wire                      trace_part,
    output wire [STAMP_W-1:0]        trace_start
);
    localparam LANE_B = (WORD / BEAT > 1) ? $clog2(WORD / BEAT) : 0;
    localparam integer HALF_BEATS_I = HALF_BYTES / BEAT;
    localparam [WORD_IDX_W+LANE_B-1:0] HALF_BEATS = HALF_BEATS_I[WORD_IDX_W+LANE_B-1:0];

    wire data_beat, busy;
    /* verilator lint_off PINCONNECTEMPTY */
    dma_requester #(
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BEATS_W(BEATS_W), .BEAT(BEAT), .BURST(BURST)
    ) u_req (
        .clk(clk), .rst(rst), .now(now), .start(start), .two_parts(two_parts),
        .job_base({part2_base, part_base}), .job_seg(part_bytes), .job_stride(part_bytes),
        .job_bps(part_beats), .job_beats(part_beats), .part(),
        .req_valid(req_valid), .req_stamp(req_stamp), .req_base(req_base), .req_seg(req_seg),
        .req_stride(req_stride), .req_bps(req_bps), .req_offset(req_offset), .req_beats(req_beats),
        .grant(grant), .beat(beat), .beat_last(beat_last), .data_beat(data_beat),
        .busy(busy), .job_ending(job_ending), .job_done(job_done),
        .trace_valid(trace_valid), .trace_part(trace_part), .trace_start(trace_start)
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // beats of the job so far: the write position in the half
    reg [WORD_IDX_W+LANE_B-1:0] count;   // beat index within both halves (the half's base included)
    always @(posedge clk) begin
        wr_valid <= !rst && data_beat;
        wr_data  <= rd_data;
        if (start && !busy) count <= half ? HALF_BEATS : {(WORD_IDX_W+LANE_B){1'b0}};
        else if (wr_valid) count <= count + 1'b1;
    end
    assign wr_word = count[WORD_IDX_W+LANE_B-1:LANE_B];
    generate
        if (LANE_B > 0) begin : g_lane
            assign wr_lane = count[LANE_B-1:0];
        end else begin : g_word
            assign wr_lane = 1'b0;
        end
    endgenerate
endmodule
