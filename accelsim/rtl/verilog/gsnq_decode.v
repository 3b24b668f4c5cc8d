// GSNQ weight code -> power-of-two weight. A W-bit code c of a layer is
//   c = 0                  : weight 0
//   1 <= c <= n_pos        : +2^(base_pos + c - 1)
//   c > n_pos              : -2^(base_neg + c - n_pos - 1)
// in units of the layer's smallest weight (so every shift is >= 0). n_pos, base_pos and base_neg
// are per-layer registers; the shift never exceeds 2^W - 2 (checked when the layer is emitted).
module gsnq_decode #(
    parameter W       = 4,  // code bits
    parameter SHIFT_W = 4   // bits of a shift amount
) (
    input  wire [W-1:0]       code,
    input  wire [W-1:0]       n_pos,
    input  wire [SHIFT_W-1:0] base_pos,
    input  wire [SHIFT_W-1:0] base_neg,
    output wire               zero,
    output wire               neg,
    output wire [SHIFT_W-1:0] shift
);
    wire [SHIFT_W-1:0] code_x  = {{(SHIFT_W-W){1'b0}}, code};
    wire [SHIFT_W-1:0] npos_x  = {{(SHIFT_W-W){1'b0}}, n_pos};
    assign zero  = (code == {W{1'b0}});
    assign neg   = (code > n_pos);
    assign shift = neg ? (base_neg + code_x - npos_x - 1'b1) : (base_pos + code_x - 1'b1);
endmodule
