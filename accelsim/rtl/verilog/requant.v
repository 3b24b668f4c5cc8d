// One requantization lane: y = clamp((acc * M + B + round) >>> shift, lo, hi), round =
// 2^(shift-1) if shift > 0 else 0, with an arithmetic shift right: bit for bit the datapath's
// rule (docs/integer-arithmetic.md). M is a signed 16-bit multiplier and B a signed 48-bit bias
// per output channel; shift, lo and hi are per layer. Latency 2: the product is registered
// (one DSP cascade), then the bias, rounding, shift and clamp.
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

    reg signed [PROD_W-1:0] product;
    reg signed [BIAS_W-1:0] bias_q;
    reg [5:0]               shift_q;
    reg                     valid_q;
    always @(posedge clk) begin
        product <= acc * multiplier;
        bias_q  <= bias;
        shift_q <= shift;
        valid_q <= rst ? 1'b0 : in_valid;
    end

    wire signed [SUM_W-1:0] round = (shift_q == 6'd0) ? {SUM_W{1'b0}} : ({{(SUM_W-1){1'b0}}, 1'b1} <<< (shift_q - 6'd1));
    wire signed [SUM_W-1:0] total = {{(SUM_W-PROD_W){product[PROD_W-1]}}, product}
                                  + {{(SUM_W-BIAS_W){bias_q[BIAS_W-1]}}, bias_q} + round;
    wire signed [SUM_W-1:0] shifted = total >>> shift_q;
    wire signed [SUM_W-1:0] lo_x = {{(SUM_W-A){lo[A-1]}}, lo};
    wire signed [SUM_W-1:0] hi_x = {{(SUM_W-A){hi[A-1]}}, hi};
    reg  signed [A-1:0]     clamped;
    always @(*) begin
        if (shifted < lo_x) clamped = lo;
        else if (shifted > hi_x) clamped = hi;
        else clamped = shifted[A-1:0];
    end

    always @(posedge clk) begin
        y <= clamped;
        out_valid <= rst ? 1'b0 : valid_q;
    end
endmodule
