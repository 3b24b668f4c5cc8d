// One requantization lane: y = clamp((acc * M + B + round) >>> shift, lo, hi), round =
// 2^(shift-1) if shift > 0 else 0, with an arithmetic shift right: bit for bit the datapath's
// rule (docs/integer-arithmetic.md). M is a signed 16-bit multiplier and B a signed 48-bit bias
// per output channel; shift, lo and hi are per layer. Latency 3: the product (one DSP cascade)
// beside the bias plus the rounding constant; their sum, shifted by the multiple of 8 in shift;
// the rest of the shift (0..7) and the clamp, which tests the shifted value's high bits for a
// sign extension and compares only its low A bits.
module requant #(
    parameter ACC_W = 32,
    parameter A     = 8,
    parameter MUL_W = 16,
    parameter BIAS_W = 48
) (
    input  wire                     clk,
    input  wire                     rst,
    input  wire                     in_valid,
    input  wire signed [ACC_W-1:0]  acc,
    input  wire signed [MUL_W-1:0]  multiplier,
    input  wire signed [BIAS_W-1:0] bias,
    input  wire [5:0]               shift,
    input  wire signed [A-1:0]      lo,
    input  wire signed [A-1:0]      hi,
    output reg                      out_valid,
    output reg  signed [A-1:0]      y
);
    localparam PROD_W = ACC_W + MUL_W;
    // room for the product, the bias and a rounding constant up to 2^62, plus a carry
    localparam SUM_W = ((PROD_W > 63) ? PROD_W : 63) + 1;

    wire signed [SUM_W-1:0] round = (shift == 6'd0) ? {SUM_W{1'b0}} : ({{(SUM_W-1){1'b0}}, 1'b1} <<< (shift - 6'd1));
    reg signed [PROD_W-1:0] product;
    reg signed [SUM_W-1:0]  offset;          // B + round
    reg signed [SUM_W-1:0]  coarse;          // (product + offset) >>> (shift & ~7)
    reg [5:0]               shift_q;
    reg [2:0]               fine;            // shift & 7
    wire signed [SUM_W-1:0] total = $signed({{(SUM_W-PROD_W){product[PROD_W-1]}}, product}) + offset;
    reg [1:0]               valid_q;
    always @(posedge clk) begin
        product <= acc * multiplier;
        offset  <= {{(SUM_W-BIAS_W){bias[BIAS_W-1]}}, bias} + round;
        shift_q <= shift;
        coarse  <= total >>> {shift_q[5:3], 3'b000};
        fine    <= shift_q[2:0];
        valid_q <= rst ? 2'b0 : {valid_q[0], in_valid};
    end

    wire signed [SUM_W-1:0] shifted = coarse >>> fine;
    // the shifted value is an A-bit number when its bits A-1 and up are all equal; otherwise it
    // lies beyond every A-bit bound, below lo when negative and above hi when not
    wire [SUM_W-A:0]    high = shifted[SUM_W-1:A-1];
    wire                fits = (&high) || !(|high);
    wire signed [A-1:0] low  = shifted[A-1:0];
    reg  signed [A-1:0] clamped;
    always @(*) begin
        if (!fits) clamped = shifted[SUM_W-1] ? lo : hi;
        else if (low < lo) clamped = lo;
        else if (low > hi) clamped = hi;
        else clamped = low;
    end

    always @(posedge clk) begin
        y <= clamped;
        out_valid <= rst ? 1'b0 : valid_q[1];
    end
endmodule
