// The datapath's vector mode (docs/microarchitecture.md, section 6): TN lanes that run pooling and
// residual adds in place of the PE array. Lane i works on output channel chan_first + i of the
// tile: in each step it takes the window of its channel's column (when the step reads the
// channel's input group), reduces it (maximum of the valid elements, or their sum), shifts it
// left by the operand's shift (adds) and combines it into its accumulator (maximum or sum),
// which restarts on the first step of a pixel.
//
// Same interface timing as pe_array: operands and control enter registered, results leave 4
// cycles later (registers: the selected window, the reduction's two halves, the shifted value),
// from the accumulators' update, unregistered (the datapath registers them).
module vector_lanes #(
    parameter TN    = 8,
    parameter TM    = 4,
    parameter KMAX  = 3,
    parameter A     = 8,
    parameter ACC_W = 32,
    parameter TAG_W = 12,
    parameter COL_W = (TM > 1) ? $clog2(TM) : 1,    // bits of a column index
    parameter REL_W = 8                              // bits of a step's group relative to the tile's first
) (
    input  wire                      clk,
    input  wire                      rst,
    // tile constants
    input  wire                      is_max,       // 1: max pooling, 0: sum (average pooling, add)
    input  wire [TN*COL_W-1:0]       lane_col,     // lane i's input column (its channel mod TM)
    input  wire [TN*REL_W-1:0]       lane_group,   // lane i's input group, relative to the tile's first
    input  wire [TN-1:0]             lane_on,      // lane i has a channel (i < channels of the tile)
    input  wire [3:0]                shift_a,      // left shift of operand 0 (adds; 0 otherwise)
    input  wire [3:0]                shift_b,      // left shift of operand 1
    // steps
    input  wire [TM*KMAX*KMAX*A-1:0] windows,      // column j's window at (j*KMAX*KMAX*A), 0 where invalid
    input  wire [TM*KMAX*KMAX-1:0]   elem_valid,   // element inside the pooling window and the slab
    input  wire [REL_W-1:0]          in_group,     // the step's input group, relative
    input  wire                      in_operand,   // the step's operand (0: A, 1: B)
    input  wire                      in_valid,
    input  wire                      in_first,     // first step of a pixel
    input  wire                      in_last,      // last step of a pixel
    input  wire [TAG_W-1:0]          in_tag,
    output wire                      out_valid,
    output wire [TAG_W-1:0]          out_tag,
    output wire [TN*ACC_W-1:0]       out_sums      // channel i at (i*ACC_W)
);
    localparam NE    = KMAX * KMAX;
    localparam RED_W = A + 1 + ((NE > 1) ? $clog2(NE) : 0);   // a window sum, or a maximum with -inf
    localparam [RED_W-1:0] NEG_INF = {{(RED_W-A){1'b1}}, {A{1'b0}}};   // -2^A: below every A-bit value
    localparam LEVELS = (NE > 1) ? $clog2(NE) : 0;                      // steps of the reduction tree
    localparam integer SPLIT = 1 << ((LEVELS + 1) / 2);                // the first step of stage 3

    // control through the four registered stages
    localparam DLY = 4;
    reg [DLY-1:0] valid_d, first_d, last_d;
    reg [DLY*TAG_W-1:0] tag_d;
    always @(posedge clk) begin
        valid_d <= rst ? {DLY{1'b0}} : {valid_d[DLY-2:0], in_valid};
        first_d <= {first_d[DLY-2:0], in_first};
        last_d  <= {last_d[DLY-2:0], in_last};
        tag_d   <= {tag_d[(DLY-1)*TAG_W-1:0], in_tag};
    end

    genvar i;
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_lane
            // stage 1: the lane's column (a TM:1 select) and whether the step reads the lane's
            // channel; stages 2 and 3: its reduction, the maximum of its valid elements (-2^A if
            // none) or their sum, by a pairwise tree (element e takes in element e + step), the
            // steps below SPLIT in stage 2 and the others in stage 3
            wire [COL_W-1:0] col = lane_col[i*COL_W +: COL_W];
            reg  [NE*A-1:0]  win, win1;
            reg  [NE-1:0]    ok, ok1;
            reg  signed [A:0]       mx [0:NE-1];    // A+1 bits: -2^A stands for "no element"
            reg  signed [RED_W-1:0] sm [0:NE-1];
            reg  signed [A:0]       mx2 [0:NE-1];
            reg  signed [RED_W-1:0] sm2 [0:NE-1];
            reg  signed [A:0]       mx3 [0:NE-1];
            reg  signed [RED_W-1:0] sm3 [0:NE-1];
            integer j, e, step;
            always @(*) begin
                win = {NE*A{1'b0}};
                ok = {NE{1'b0}};
                for (j = 0; j < TM; j = j + 1) begin
                    if (col == j[COL_W-1:0]) begin
                        win = windows[j*NE*A +: NE*A];
                        ok = elem_valid[j*NE +: NE];
                    end
                end
            end
            always @(*) begin
                for (e = 0; e < NE; e = e + 1) begin
                    mx[e] = ok1[e] ? {win1[e*A + A-1], win1[e*A +: A]} : {1'b1, {A{1'b0}}};
                    sm[e] = ok1[e] ? {{(RED_W-A){win1[e*A + A-1]}}, win1[e*A +: A]} : {RED_W{1'b0}};
                end
                for (step = 1; step < SPLIT; step = step * 2) begin
                    for (e = 0; e + step < NE; e = e + 2 * step) begin
                        mx[e] = (mx[e + step] > mx[e]) ? mx[e + step] : mx[e];
                        sm[e] = sm[e] + sm[e + step];
                    end
                end
            end
            always @(*) begin
                for (e = 0; e < NE; e = e + 1) begin
                    mx3[e] = mx2[e];
                    sm3[e] = sm2[e];
                end
                for (step = SPLIT; step < NE; step = step * 2) begin
                    for (e = 0; e + step < NE; e = e + 2 * step) begin
                        mx3[e] = (mx3[e + step] > mx3[e]) ? mx3[e + step] : mx3[e];
                        sm3[e] = sm3[e] + sm3[e + step];
                    end
                end
            end
            reg signed [RED_W-1:0] red3;
            reg        [3:0]       sh1, sh2, sh3;
            reg                    hit1, hit2, hit3, hit4;
            always @(posedge clk) begin
                win1 <= win;
                ok1  <= ok;
                hit1 <= lane_on[i] && (lane_group[i*REL_W +: REL_W] == in_group);
                sh1  <= in_operand ? shift_b : shift_a;
                for (e = 0; e < NE; e = e + 1) begin
                    mx2[e] <= mx[e];
                    sm2[e] <= sm[e];
                end
                sh2  <= sh1;
                hit2 <= hit1;
                red3 <= is_max ? {{(RED_W-A-1){mx3[0][A]}}, mx3[0]} : sm3[0];
                sh3  <= sh2;
                hit3 <= hit2;
                hit4 <= hit3;
            end

            // stage 4: the operand's shift
            reg signed [ACC_W-1:0] value4;
            always @(posedge clk) value4 <= {{(ACC_W-RED_W){red3[RED_W-1]}}, red3} <<< sh3;

            // stage 5: accumulate (a maximum stays within RED_W bits: compare those)
            reg  signed [ACC_W-1:0] acc;
            wire signed [ACC_W-1:0] base = first_d[DLY-1] ? (is_max ? {{(ACC_W-RED_W){1'b1}}, NEG_INF} : {ACC_W{1'b0}}) : acc;
            wire                    more = $signed(value4[RED_W-1:0]) > $signed(base[RED_W-1:0]);
            wire signed [ACC_W-1:0] total = !hit4 ? base : is_max ? (more ? value4 : base) : base + value4;
            always @(posedge clk) begin
                if (valid_d[DLY-1]) acc <= total;
            end
            assign out_sums[i*ACC_W +: ACC_W] = total;
        end
    endgenerate

    assign out_valid = valid_d[DLY-1] && last_d[DLY-1];
    assign out_tag   = tag_d[DLY*TAG_W-1 -: TAG_W];
endmodule
