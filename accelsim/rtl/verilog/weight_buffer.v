// The weight buffer: one step word (the weight item of every PE unit for one step) per address,
// both ping-pong halves in one address space (half h holds words [h*W_HALF, (h+1)*W_HALF)), and
// the requantization parameters of each half's output channels.
//
// A step word is LANES beat-wide lanes, written one lane per cycle by the weight DMA (a layer's
// step word may use fewer lanes); reads return a whole word one cycle later.
//
// Parameters: per half a word of P_LANES beat-wide lanes, of which the first TN*64 bits are, per
// output channel i, the 64-bit little-endian word at bits [i*64, i*64 + 64): bits [15:0] the
// signed multiplier, [63:16] the signed bias (docs/rtl.md).
module weight_buffer #(
    parameter TN      = 8,
    parameter BEAT    = 8,
    parameter LANES   = 7,
    parameter W_HALF  = 512,
    parameter P_LANES = 8,
    parameter WORD_W  = $clog2(2 * W_HALF),
    parameter LANE_W  = (LANES > 1) ? $clog2(LANES) : 1,
    parameter PLANE_W = (P_LANES > 1) ? $clog2(P_LANES) : 1
) (
    input  wire                        clk,
    input  wire                        w_valid,
    input  wire [WORD_W-1:0]           w_word,
    input  wire [LANE_W-1:0]           w_lane,
    input  wire                        p_valid,
    input  wire [PLANE_W-1:0]          p_lane,
    input  wire                        p_half,
    input  wire [8*BEAT-1:0]           wr_data,
    input  wire                        rd_en,
    input  wire [WORD_W-1:0]           rd_word,
    output wire [LANES*8*BEAT-1:0]     rd_data,
    input  wire                        param_half,
    output wire [TN*64-1:0]            params      // channel i at (i*64)
);
    reg [LANES-1:0] we;
    integer l;
    always @(*) begin
        for (l = 0; l < LANES; l = l + 1)
            we[l] = w_valid && (LANES == 1 || w_lane == l[LANE_W-1:0]);
    end
    sdp_ram #(.ITEM_W(8*BEAT), .ITEMS(LANES), .DEPTH(2 * W_HALF), .ADDR_W(WORD_W)) u_words (
        .clk(clk), .we(we), .waddr(w_word), .wdata({LANES{wr_data}}),
        .re(rd_en), .raddr(rd_word), .rdata(rd_data)
    );

    // parameter lanes: lane p of each half, written by its own process; the first TN*64 bits
    // of the chosen half are the parameters
    /* verilator lint_off UNUSEDSIGNAL */
    wire [P_LANES*8*BEAT-1:0] chosen;
    /* verilator lint_on UNUSEDSIGNAL */
    genvar p;
    generate
        for (p = 0; p < P_LANES; p = p + 1) begin : g_plane
            reg [8*BEAT-1:0] half0, half1;
            always @(posedge clk) begin
                if (p_valid && (P_LANES == 1 || p_lane == p[PLANE_W-1:0])) begin
                    if (p_half) half1 <= wr_data;
                    else half0 <= wr_data;
                end
            end
            assign chosen[p*8*BEAT +: 8*BEAT] = param_half ? half1 : half0;
        end
    endgenerate
    assign params = chosen[TN*64-1:0];
endmodule
