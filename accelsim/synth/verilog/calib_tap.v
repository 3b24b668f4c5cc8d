// Calibration part: one tap of pe_unit.v as it sits in the unit, its product (and negation bit)
// registered: a register can take part of the tap's last logic level (a synchronous reset for a
// zero code), which a tap measured with a bare output could not.
module calib_tap #(
    parameter MULT    = 0,
    parameter A       = 8,
    parameter W       = 4,
    parameter SHIFT_W = 4,
    parameter PROD_W  = 17
) (
    input  wire                 clk,
    input  wire signed [A-1:0]  x,
    input  wire [W-1:0]         code,
    input  wire [W-1:0]         n_pos,
    input  wire [SHIFT_W-1:0]   off_pos,
    input  wire [SHIFT_W-1:0]   off_neg,
    output reg  [PROD_W-1:0]    product,
    output reg                  neg
);
    wire [PROD_W-1:0] tap_product;
    wire              tap_neg;
    pe_tap #(.MULT(MULT), .A(A), .W(W), .SHIFT_W(SHIFT_W), .PROD_W(PROD_W)) u_tap (
        .x(x), .code(code), .n_pos(n_pos), .off_pos(off_pos), .off_neg(off_neg),
        .product(tap_product), .neg(tap_neg)
    );
    always @(posedge clk) begin
        product <= tap_product;
        neg <= tap_neg;
    end
endmodule
