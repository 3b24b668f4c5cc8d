// Calibration part: one accumulator of pe_array.v, restart-or-add of an S-bit signed addend into
// ACC_W bits; its sum leaves unregistered, as the array's results do.
module calib_accumulate #(
    parameter S     = 27,
    parameter ACC_W = 32
) (
    input  wire                    clk,
    input  wire                    valid,
    input  wire                    first,
    input  wire signed [S-1:0]     column,
    output wire signed [ACC_W-1:0] out
);
    wire signed [ACC_W-1:0] addend;
    generate
        if (S >= ACC_W) begin : g_trunc
            assign addend = column[ACC_W-1:0];
        end else begin : g_extend
            assign addend = {{(ACC_W-S){column[S-1]}}, column};
        end
    endgenerate
    reg signed [ACC_W-1:0] acc;
    wire signed [ACC_W-1:0] total = first ? addend : acc + addend;
    always @(posedge clk) begin
        if (valid) acc <= total;
    end
    assign out = total;
endmodule
