// One PE unit's adder tree: the sum of the N tap products of a step (signed P-bit operands) into
// S bits, combinational (pe_unit registers it); with NEG = 1 each product also brings its shift
// tap's negation bit, the +1 that completes the tap's one's complement. Sign-extend, then add one
// after the other: Yosys gathers the loop into one multi-operand sum, a compressor tree.
//
// A module of its own so that synthesis can keep the tree in the fabric: for the DSP48 kind
// (mult_dsp) the unit's synthesis keeps this module's hierarchy (accelsim.synth.targets), as the
// paper's DSP module keeps its adders in LUTs. Flattened with its taps, Yosys's xilinx_dsp would
// chain the nine multipliers' post-adders into one PCOUT -> PCIN cascade that settles in one
// cycle (~86 MHz by the timing rule of docs/resources.md). The fabric kinds flatten it into the
// unit, where ABC maps the taps and the tree together.
module pe_tree #(
    parameter N   = 9,
    parameter P   = 13,
    parameter NEG = 1,
    parameter S   = P + ((N > 1) ? $clog2(N) : 0)
) (
    input  wire [N*P-1:0]          products,   // product i at (i*P)
    /* verilator lint_off UNUSEDSIGNAL */      // NEG = 0: the multipliers have no negation bits
    input  wire [N-1:0]            negs,
    /* verilator lint_on UNUSEDSIGNAL */
    output reg  signed [S-1:0]     total
);
    integer i;
    always @(*) begin
        total = {S{1'b0}};
        for (i = 0; i < N; i = i + 1)
            total = total + {{(S-P){products[i*P+P-1]}}, products[i*P +: P]}
                  + ((NEG != 0) ? {{(S-1){1'b0}}, negs[i]} : {S{1'b0}});
    end
endmodule
