// Calibration part: the sum of N signed P-bit operands into S bits, registered; written like the
// adder loops of pe_unit.v and pe_column.v (sign-extend, then add one after the other). With
// NEG = 1 each operand also brings a one-bit addend (a shift tap's negation bit, pe_unit.v).
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
    reg signed [S-1:0] total;
    integer i;
    always @(*) begin
        total = {S{1'b0}};
        for (i = 0; i < N; i = i + 1)
            total = total + {{(S-P){operands[i*P+P-1]}}, operands[i*P +: P]}
                  + ((NEG != 0) ? {{(S-1){1'b0}}, negs[i]} : {S{1'b0}});
    end
    always @(posedge clk) sum <= total;
endmodule
