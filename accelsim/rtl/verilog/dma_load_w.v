// The weight DMA engine: loads one channel group's step words and requantization parameters into
// a half of the weight buffer, one beat per cycle at the DDR's rate.
//
// The transfer (docs/microarchitecture.md, section 2) is the group's step words, each `lanes`
// whole beats (the layer's step_beats), `word_beats` beats in all, then the parameter beats.
// Beat t < word_beats is lane t mod lanes of step word t / lanes, kept as two counters; a later
// beat is lane t - word_beats of the parameter word. No byte of a beat is moved on its own.
module dma_load_w #(
    parameter BEAT     = 8,
    parameter BURST    = 2048,
    parameter LANES    = 7,      // beats of the widest step word
    parameter W_HALF   = 512,    // step words per half
    parameter P_LANES  = 8,      // beats of a parameter word
    parameter STAMP_W  = 32,
    parameter ADDR_W   = 32,
    parameter BEATS_W  = 24,
    parameter WORD_W   = $clog2(2 * W_HALF),
    parameter LANE_W   = (LANES > 1) ? $clog2(LANES) : 1,
    parameter PLANE_W  = (P_LANES > 1) ? $clog2(P_LANES) : 1
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [STAMP_W-1:0]        now,
    // the job
    input  wire                      start,
    input  wire                      half,
    input  wire [ADDR_W-1:0]         part_base,
    input  wire [ADDR_W-1:0]         part_bytes,   // whole beats
    input  wire [BEATS_W-1:0]        part_beats,
    input  wire [BEATS_W-1:0]        word_beats,   // beats of the step words
    input  wire [LANE_W:0]           lanes,        // beats per step word of this layer (1..LANES)
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
    // weight buffer writes: a step-word lane, or a parameter lane of the job's half
    output reg                       w_valid,
    output reg  [WORD_W-1:0]         w_word,
    output reg  [LANE_W-1:0]         w_lane,
    output reg                       p_valid,
    output reg  [PLANE_W-1:0]        p_lane,
    output reg                       p_half,
    output reg  [8*BEAT-1:0]         wr_data,
    // trace
    output wire                      trace_valid,
    output wire                      trace_part,
    output wire [STAMP_W-1:0]        trace_start
);
    localparam integer W_HALF_I = W_HALF;
    localparam [WORD_W-1:0] HALF_BASE = W_HALF_I[WORD_W-1:0];

    wire data_beat, busy;
    /* verilator lint_off PINCONNECTEMPTY */
    dma_requester #(
        .STAMP_W(STAMP_W), .ADDR_W(ADDR_W), .BEATS_W(BEATS_W), .BEAT(BEAT), .BURST(BURST)
    ) u_req (
        .clk(clk), .rst(rst), .now(now), .start(start), .two_parts(1'b0),
        .job_base({{ADDR_W{1'b0}}, part_base}), .job_seg(part_bytes), .job_stride(part_bytes),
        .job_bps(part_beats), .job_beats(part_beats), .part(),
        .req_valid(req_valid), .req_stamp(req_stamp), .req_base(req_base), .req_seg(req_seg),
        .req_stride(req_stride), .req_bps(req_bps), .req_offset(req_offset), .req_beats(req_beats),
        .grant(grant), .beat(beat), .beat_last(beat_last), .data_beat(data_beat),
        .busy(busy), .job_ending(job_ending), .job_done(job_done),
        .trace_valid(trace_valid), .trace_part(trace_part), .trace_start(trace_start)
    );
    /* verilator lint_on PINCONNECTEMPTY */

    // job registers and beat counters, loaded in the job's start cycle (its first beat comes a
    // cycle after its grant at the earliest: the counters only advance on beats, from registers)
    reg [BEATS_W-1:0] words_left;   // step-word beats still to come
    reg [LANE_W:0]    lanes_q;
    reg [LANE_W-1:0]  lane;
    reg [WORD_W-1:0]  word;
    reg [PLANE_W-1:0] plane;
    reg               half_q;
    wire              fresh   = start && !busy;
    wire              is_word = (words_left != {BEATS_W{1'b0}});
    always @(posedge clk) begin
        w_valid <= !rst && data_beat && is_word;
        p_valid <= !rst && data_beat && !is_word;
        w_word  <= word;
        w_lane  <= lane;
        p_lane  <= plane;
        p_half  <= half_q;
        wr_data <= rd_data;
        if (fresh) begin
            words_left <= word_beats;
            lanes_q <= lanes;
            lane <= {LANE_W{1'b0}};
            word <= half ? HALF_BASE : {WORD_W{1'b0}};
            plane <= {PLANE_W{1'b0}};
            half_q <= half;
        end else if (data_beat) begin
            if (is_word) begin
                words_left <= words_left - 1'b1;
                if ({1'b0, lane} + 1'b1 == lanes_q) begin
                    lane <= {LANE_W{1'b0}};
                    word <= word + 1'b1;
                end else begin
                    lane <= lane + 1'b1;
                end
            end else begin
                plane <= plane + 1'b1;
            end
        end
    end
endmodule
