// One tap of a PE unit: the activation x times the weight a code names, combinational.
//
// Shift kinds (MULT = 0, gsnq_shift and krp_gsnq): a GSNQ code c of a layer is
//   c = 0           : the weight 0
//   1 <= c <= n_pos : +2^(c + off_pos)      (off_pos = base_pos - 1, mod 2^SHIFT_W)
//   c > n_pos       : -2^(c + off_neg)      (off_neg = base_neg - n_pos - 1, mod 2^SHIFT_W)
// in units of the layer's smallest weight, every shift at most SHIFT_MAX = 2^(W-1) (checked when
// the layer is emitted). The tap returns the shifted activation in one's complement form
// (x << s, bit-inverted for a negative weight) and `neg`; the unit's adder tree adds the `neg`
// bits back, which completes the two's complement negation without an adder per tap.
//
// Multiplier kinds (MULT = 1, mult_dsp and mult_lut): the code is the weight itself, a signed
// W-bit uniform code (-(2^(W-1) - 1) .. 2^(W-1) - 1), and the tap is an A x W-bit signed
// multiplier (DSP48 or LUTs, decided by synthesis: mult_lut is synthesized without DSPs).
module pe_tap #(
    parameter MULT    = 0,
    parameter A       = 8,   // activation bits (signed)
    parameter W       = 4,   // code bits
    parameter SHIFT_W = 4,   // bits of a shift amount
    parameter PROD_W  = 17   // product bits: A + SHIFT_MAX + 1 (shift), A + W (multiply)
) (
    input  wire signed [A-1:0]  x,
    input  wire [W-1:0]         code,
    /* verilator lint_off UNUSEDSIGNAL */   // the multipliers decode nothing
    input  wire [W-1:0]         n_pos,
    input  wire [SHIFT_W-1:0]   off_pos,
    input  wire [SHIFT_W-1:0]   off_neg,
    /* verilator lint_on UNUSEDSIGNAL */
    output wire [PROD_W-1:0]    product,
    output wire                 neg
);
    generate
        if (MULT == 0) begin : g_shift
            wire zero = (code == {W{1'b0}});
            assign neg = !zero && (code > n_pos);
            /* verilator lint_off WIDTH */
            wire [SHIFT_W-1:0] shift = code + (neg ? off_neg : off_pos);
            /* verilator lint_on WIDTH */
            wire signed [PROD_W-1:0] wide = {{(PROD_W-A){x[A-1]}}, x};
            wire signed [PROD_W-1:0] magnitude = wide <<< shift;
            assign product = zero ? {PROD_W{1'b0}} : (magnitude ^ {PROD_W{neg}});
        end else begin : g_mult
            wire signed [W-1:0]      weight = code;
            wire signed [PROD_W-1:0] full = x * weight;
            assign product = full;
            assign neg = 1'b0;
        end
    endgenerate
endmodule
