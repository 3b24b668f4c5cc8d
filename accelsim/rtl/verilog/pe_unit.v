// One PE unit: the taps of one (output channel, input channel) pair for one step, summed.
//
// KIND (the order of accelsim.hw.PeKind):
//   0 mult_dsp   : KMAX x KMAX multipliers on DSP48 slices
//   1 mult_lut   : KMAX x KMAX multipliers in LUTs
//   2 gsnq_shift : KMAX x KMAX shifters (power-of-two weights)
//   3 krp_gsnq   : KMAX shifters on the window row chosen by the row index in the weight item
//
// Inputs are the operand registers of the array: the KMAX x KMAX window of one input channel
// (row-major, element (dy, dx) at ((dy*KMAX + dx)*A)) and the unit's weight item:
//   dense kinds: KMAX*KMAX codes, tap (u, v) at ((u*KMAX + v)*W);
//   krp_gsnq   : KMAX codes (tap v at v*W) and, above them, the row index (IDX_W bits).
// Latency 2: the tap products are registered, then their sum.
module pe_unit #(
    parameter KIND    = 3,
    parameter KMAX    = 3,
    parameter A       = 8,
    parameter W       = 4,
    parameter SHIFT_W = 4,
    parameter PROD_W  = 23,
    parameter TAPS    = (KIND == 3) ? KMAX : KMAX * KMAX,
    parameter IDX_W   = (KIND == 3 && KMAX > 1) ? $clog2(KMAX) : 0,
    parameter ITEM_W  = TAPS * W + IDX_W,
    parameter SUM_W   = PROD_W + ((TAPS > 1) ? $clog2(TAPS) : 0)
) (
    input  wire                    clk,
    input  wire [KMAX*KMAX*A-1:0]  window,
    input  wire [ITEM_W-1:0]       item,
    input  wire [W-1:0]            n_pos,
    input  wire [SHIFT_W-1:0]      base_pos,
    input  wire [SHIFT_W-1:0]      base_neg,
    output reg  signed [SUM_W-1:0] sum
);
    // The activation under each tap.
    wire [TAPS*A-1:0] operands;
    generate
        if (KIND == 3) begin : g_row
            if (IDX_W > 0) begin : g_select
                wire [IDX_W-1:0] row = item[TAPS*W +: IDX_W];
                reg  [KMAX*A-1:0] selected;
                integer r;
                always @(*) begin
                    selected = {KMAX*A{1'b0}};
                    for (r = 0; r < KMAX; r = r + 1)
                        if (row == r[IDX_W-1:0]) selected = window[r*KMAX*A +: KMAX*A];
                end
                assign operands = selected;
            end else begin : g_one_row
                assign operands = window;
            end
        end else begin : g_window
            assign operands = window;
        end
    endgenerate

    wire [TAPS*PROD_W-1:0] products;
    reg  [TAPS*PROD_W-1:0] products_q;
    genvar t;
    generate
        for (t = 0; t < TAPS; t = t + 1) begin : g_tap
            pe_tap #(
                .MULT((KIND == 0 || KIND == 1) ? 1 : 0), .USE_DSP((KIND == 0) ? 1 : 0),
                .A(A), .W(W), .SHIFT_W(SHIFT_W), .PROD_W(PROD_W)
            ) u_tap (
                .x(operands[t*A +: A]), .code(item[t*W +: W]),
                .n_pos(n_pos), .base_pos(base_pos), .base_neg(base_neg),
                .product(products[t*PROD_W +: PROD_W])
            );
        end
    endgenerate

    reg signed [SUM_W-1:0] total;
    integer i;
    always @(*) begin
        total = {SUM_W{1'b0}};
        for (i = 0; i < TAPS; i = i + 1)
            total = total + {{(SUM_W-PROD_W){products_q[i*PROD_W+PROD_W-1]}}, products_q[i*PROD_W +: PROD_W]};
    end

    always @(posedge clk) begin
        products_q <= products;
        sum <= total;
    end
endmodule
