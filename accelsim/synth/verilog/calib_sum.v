// Calibration part: the sum of N signed P-bit operands into S bits, registered: pe_tree.v (the
// unit's adder tree; pe_column.v's loop is the same with NEG = 0). With NEG = 1 each operand also
// brings a one-bit addend (a shift tap's negation bit).
module calib_sum #(
    parameter N   = 3,
    parameter P   = 23,
    parameter NEG = 0,
    parameter S   = P + ((N > 1) ? $clog2(N) : 0)
) (
    input  wire                clk,
    input  wire [N*P-1:0]      operands,
    input  wire [N-1:0]        negs,
    output reg  signed [S-1:0] sum
);
    wire signed [S-1:0] total;
    pe_tree #(.N(N), .P(P), .NEG(NEG), .S(S)) u_tree (.products(operands), .negs(negs), .total(total));
    always @(posedge clk) sum <= total;
endmodule
