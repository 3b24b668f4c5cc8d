// One tap of a PE unit: activation x times the weight of a GSNQ code, as a shifter (GSNQ kinds)
// or as a multiplier (mult kinds: the code is decoded to +-2^s first, then multiplied, on DSP48
// slices for mult_dsp and in LUTs for mult_lut). Combinational; the unit registers the product.
module pe_tap #(
    parameter MULT    = 0,  // 0: shift-and-negate, 1: multiplier
    parameter USE_DSP = 0,  // with MULT: 1 = DSP48, 0 = LUTs
    parameter A       = 8,  // activation bits (signed)
    parameter W       = 4,  // code bits
    parameter SHIFT_W = 4,  // shift bits
    parameter PROD_W  = 23  // product bits: A + (2^W - 2) + 1
) (
    input  wire signed [A-1:0]   x,
    input  wire [W-1:0]          code,
    input  wire [W-1:0]          n_pos,
    input  wire [SHIFT_W-1:0]    base_pos,
    input  wire [SHIFT_W-1:0]    base_neg,
    output wire signed [PROD_W-1:0] product
);
    wire               zero, neg;
    wire [SHIFT_W-1:0] shift;
    gsnq_decode #(.W(W), .SHIFT_W(SHIFT_W)) u_dec (
        .code(code), .n_pos(n_pos), .base_pos(base_pos), .base_neg(base_neg),
        .zero(zero), .neg(neg), .shift(shift)
    );

    generate
        if (MULT == 0) begin : g_shift
            wire signed [PROD_W-1:0] x_wide = {{(PROD_W-A){x[A-1]}}, x};
            wire signed [PROD_W-1:0] shifted = x_wide <<< shift;
            assign product = zero ? {PROD_W{1'b0}} : (neg ? -shifted : shifted);
        end else begin : g_mult
            // +-2^shift as a signed (PROD_W - A + 1)-bit operand
            localparam WV = PROD_W - A + 1;
            wire signed [WV-1:0] magnitude = {{(WV-1){1'b0}}, 1'b1} <<< shift;
            wire signed [WV-1:0] weight = zero ? {WV{1'b0}} : (neg ? -magnitude : magnitude);
            // |x * weight| <= 2^(A-1) * 2^(2^W - 2) fits PROD_W bits, so the product is exact.
            if (USE_DSP != 0) begin : g_dsp
                (* use_dsp = "yes" *) wire signed [PROD_W-1:0] full = x * weight;
                assign product = full;
            end else begin : g_lut
                (* use_dsp = "no" *) wire signed [PROD_W-1:0] full = x * weight;
                assign product = full;
            end
        end
    endgenerate
endmodule
