// One output channel's column adder tree: the sum of the TM unit sums of a row of the PE array,
// combinational (pe_array registers it). Sign-extend, then add one after the other: Yosys
// gathers the loop into one multi-operand sum and builds it as a compressor tree.
//
// A module of its own so that synthesis maps the tree by itself: the core and the array keep
// this module's hierarchy while they flatten the units into the array (accelsim.synth.targets).
// Mapped within the flattened array, the same 16-operand tree took about 270 more LUTs.
module pe_column #(
    parameter TM    = 4,
    parameter SUM_W = 19,
    parameter COL_W = SUM_W + ((TM > 1) ? $clog2(TM) : 0)
) (
    input  wire [TM*SUM_W-1:0]     unit_sums,   // unit j's sum at (j*SUM_W)
    output reg  signed [COL_W-1:0] column
);
    integer u;
    always @(*) begin
        column = {COL_W{1'b0}};
        for (u = 0; u < TM; u = u + 1)
            column = column + {{(COL_W-SUM_W){unit_sums[u*SUM_W + SUM_W-1]}}, unit_sums[u*SUM_W +: SUM_W]};
    end
endmodule
