// One PE unit: the taps of one (output channel, input channel) pair for one step, summed.
//
// KIND (the order of accelsim.hw.PeKind):
//   0 mult_dsp   : KMAX x KMAX multipliers on DSP48 slices (uniform codes)
//   1 mult_lut   : KMAX x KMAX multipliers in LUTs (uniform codes)
//   2 gsnq_shift : KMAX x KMAX shifters (GSNQ codes)
//   3 krp_gsnq   : KMAX shifters on the window row chosen by the row index in the weight item
//
// Inputs are the array's operands: the KMAX x KMAX window of one input channel (row-major,
// element (dy, dx) at ((dy*KMAX + dx)*A)) and the unit's weight item:
//   dense kinds: KMAX*KMAX codes, tap (u, v) at ((u*KMAX + v)*W);
//   krp_gsnq   : KMAX codes (tap v at v*W) and, above them, the row index (IDX_W bits).
// Latency 3: the unit's operands (a KRP unit's selected row) and codes are registered, then the
// tap products, then their sum (pe_tree.v, with the shift taps' negation bits added back).
module pe_unit #(
    parameter KIND    = 3,
    parameter KMAX    = 3,
    parameter A       = 8,
    parameter W       = 4,
    parameter SHIFT_W = 4,
    parameter PROD_W  = 17,
    parameter TAPS    = (KIND == 3) ? KMAX : KMAX * KMAX,
    parameter IDX_W   = (KIND == 3 && KMAX > 1) ? $clog2(KMAX) : 0,
    parameter ITEM_W  = TAPS * W + IDX_W,
    parameter SUM_W   = PROD_W + ((TAPS > 1) ? $clog2(TAPS) : 0)
) (
    input  wire                    clk,
    input  wire [KMAX*KMAX*A-1:0]  window,
    input  wire [ITEM_W-1:0]       item,
    input  wire [W-1:0]            n_pos,
    input  wire [SHIFT_W-1:0]      off_pos,
    input  wire [SHIFT_W-1:0]      off_neg,
    output reg  signed [SUM_W-1:0] sum
);
    // the activation under each tap: the selected window row (KRP) or the whole window
    wire [TAPS*A-1:0] operands;
    generate
        if (KIND == 3 && IDX_W > 0) begin : g_select
            wire [IDX_W-1:0] row = item[TAPS*W +: IDX_W];
            reg  [KMAX*A-1:0] selected;
            integer r;
            always @(*) begin
                selected = {KMAX*A{1'b0}};
                for (r = 0; r < KMAX; r = r + 1)
                    if (row == r[IDX_W-1:0]) selected = window[r*KMAX*A +: KMAX*A];
            end
            assign operands = selected;
        end else begin : g_window
            assign operands = window[TAPS*A-1:0];
        end
    endgenerate

    reg [TAPS*A-1:0] operands_q;
    reg [TAPS*W-1:0] codes_q;
    always @(posedge clk) begin
        operands_q <= operands;
        codes_q <= item[TAPS*W-1:0];
    end

    wire [TAPS*PROD_W-1:0] products;
    wire [TAPS-1:0]        negs;
    reg  [TAPS*PROD_W-1:0] products_q;
    reg  [TAPS-1:0]        negs_q;
    genvar t;
    generate
        for (t = 0; t < TAPS; t = t + 1) begin : g_tap
            pe_tap #(
                .MULT((KIND == 0 || KIND == 1) ? 1 : 0), .A(A), .W(W), .SHIFT_W(SHIFT_W), .PROD_W(PROD_W)
            ) u_tap (
                .x(operands_q[t*A +: A]), .code(codes_q[t*W +: W]), .n_pos(n_pos),
                .off_pos(off_pos), .off_neg(off_neg),
                .product(products[t*PROD_W +: PROD_W]), .neg(negs[t])
            );
        end
    endgenerate

    wire signed [SUM_W-1:0] total;
    pe_tree #(.N(TAPS), .P(PROD_W), .NEG((KIND == 0 || KIND == 1) ? 0 : 1), .S(SUM_W)) u_tree (
        .products(products_q), .negs(negs_q), .total(total)
    );

    always @(posedge clk) begin
        products_q <= products;
        negs_q <= negs;
        sum <= total;
    end
endmodule
