// Calibration part: N taps of pe_unit.v with their product registers and the adder tree that sums
// them, in one module, as a unit holds them (without the unit's operand registers and KRP row
// select): ABC maps a module for its deepest path and recovers area on the others, so a tap's
// LUTs depend on the tree beside it. Built like pe_unit.v, of its pe_tap and pe_tree.
module calib_group #(
    parameter MULT    = 0,
    parameter N       = 4,
    parameter A       = 8,
    parameter W       = 4,
    parameter SHIFT_W = 4,
    parameter PROD_W  = 17,
    parameter SUM_W   = PROD_W + ((N > 1) ? $clog2(N) : 0)
) (
    input  wire                    clk,
    input  wire [N*A-1:0]          x,
    input  wire [N*W-1:0]          codes,
    input  wire [W-1:0]            n_pos,
    input  wire [SHIFT_W-1:0]      off_pos,
    input  wire [SHIFT_W-1:0]      off_neg,
    output reg  signed [SUM_W-1:0] sum
);
    wire [N*PROD_W-1:0] products;
    wire [N-1:0]        negs;
    reg  [N*PROD_W-1:0] products_q;
    reg  [N-1:0]        negs_q;
    genvar t;
    generate
        for (t = 0; t < N; t = t + 1) begin : g_tap
            pe_tap #(.MULT(MULT), .A(A), .W(W), .SHIFT_W(SHIFT_W), .PROD_W(PROD_W)) u_tap (
                .x(x[t*A +: A]), .code(codes[t*W +: W]), .n_pos(n_pos), .off_pos(off_pos),
                .off_neg(off_neg), .product(products[t*PROD_W +: PROD_W]), .neg(negs[t])
            );
        end
    endgenerate

    wire signed [SUM_W-1:0] total;
    pe_tree #(.N(N), .P(PROD_W), .NEG(MULT ? 0 : 1), .S(SUM_W)) u_tree (
        .products(products_q), .negs(negs_q), .total(total)
    );

    always @(posedge clk) begin
        products_q <= products;
        negs_q <= negs;
        sum <= total;
    end
endmodule
