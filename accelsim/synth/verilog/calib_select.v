// Calibration part: the KRP row select of pe_unit.v, K rows of K*A bits, row chosen by an index,
// registered as the unit registers it (its operand register).
module calib_select #(
    parameter K = 3,
    parameter A = 8,
    parameter IDX_W = (K > 1) ? $clog2(K) : 1
) (
    input  wire             clk,
    input  wire [K*K*A-1:0] window,
    input  wire [IDX_W-1:0] row,
    output reg  [K*A-1:0]   operands
);
    reg [K*A-1:0] selected;
    integer r;
    always @(*) begin
        selected = {K*A{1'b0}};
        for (r = 0; r < K; r = r + 1)
            if (row == r[IDX_W-1:0]) selected = window[r*K*A +: K*A];
    end
    always @(posedge clk) operands <= selected;
endmodule
