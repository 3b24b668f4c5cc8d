// The PE array: TN x TM PE units, a column adder tree per output channel and TN accumulators.
//
// Unit (i, j) works on output channel i and input channel j of the current groups: it reads the
// window of column j (broadcast to all rows) and its own weight item. Per step, row i's adder
// tree sums its TM unit sums and accumulator i adds that sum (or restarts from it on the first
// step of a pixel). In the cycle the last step of a pixel reaches the accumulators, the TN
// accumulated sums leave with out_valid = 1 and the pixel's tag.
//
// Operands (windows, items) and their control (valid, first, last, tag) enter together, already
// registered; results leave 4 cycles later (registers: the units' operands, tap products, unit
// sums, column sums), from the accumulators' adders, unregistered: the datapath registers the
// array's or the vector lanes' results in one register (pe_datapath.v), so that the
// requantization multipliers take their operand from a flip-flop, not through a multiplexer.
module pe_array #(
    parameter KIND    = 3,
    parameter TN      = 8,
    parameter TM      = 4,
    parameter KMAX    = 3,
    parameter A       = 8,
    parameter W       = 4,
    parameter SHIFT_W = 4,
    parameter PROD_W  = 17,
    parameter ACC_W   = 32,
    parameter TAG_W   = 12,
    parameter TAPS    = (KIND == 3) ? KMAX : KMAX * KMAX,
    parameter IDX_W   = (KIND == 3 && KMAX > 1) ? $clog2(KMAX) : 0,
    parameter ITEM_W  = TAPS * W + IDX_W
) (
    input  wire                      clk,
    input  wire                      rst,
    input  wire [TM*KMAX*KMAX*A-1:0] windows,
    input  wire [TN*TM*ITEM_W-1:0]   items,      // unit (i, j) at ((i*TM + j)*ITEM_W)
    input  wire [W-1:0]              n_pos,
    input  wire [SHIFT_W-1:0]        off_pos,
    input  wire [SHIFT_W-1:0]        off_neg,
    input  wire                      in_valid,
    input  wire                      in_first,   // first step of a pixel
    input  wire                      in_last,    // last step of a pixel
    input  wire [TAG_W-1:0]          in_tag,
    output wire                      out_valid,
    output wire [TAG_W-1:0]          out_tag,
    output wire [TN*ACC_W-1:0]       out_sums    // channel i at (i*ACC_W)
);
    localparam SUM_W = PROD_W + ((TAPS > 1) ? $clog2(TAPS) : 0);
    localparam COL_W = SUM_W + ((TM > 1) ? $clog2(TM) : 0);

    // control delayed to the accumulator stage (operands, products, unit sums, column sums: 4)
    localparam DLY = 4;
    reg [DLY-1:0] valid_d, first_d, last_d;
    reg [DLY*TAG_W-1:0] tag_d;
    always @(posedge clk) begin
        if (rst) begin
            valid_d <= {DLY{1'b0}};
        end else begin
            valid_d <= {valid_d[DLY-2:0], in_valid};
        end
        first_d <= {first_d[DLY-2:0], in_first};
        last_d  <= {last_d[DLY-2:0], in_last};
        tag_d   <= {tag_d[(DLY-1)*TAG_W-1:0], in_tag};
    end

    wire [TN*TM*SUM_W-1:0] unit_sums;
    genvar i, j;
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_row
            for (j = 0; j < TM; j = j + 1) begin : g_col
                pe_unit #(
                    .KIND(KIND), .KMAX(KMAX), .A(A), .W(W), .SHIFT_W(SHIFT_W), .PROD_W(PROD_W)
                ) u_unit (
                    .clk(clk), .window(windows[j*KMAX*KMAX*A +: KMAX*KMAX*A]),
                    .item(items[(i*TM + j)*ITEM_W +: ITEM_W]),
                    .n_pos(n_pos), .off_pos(off_pos), .off_neg(off_neg),
                    .sum(unit_sums[(i*TM + j)*SUM_W +: SUM_W])
                );
            end

            // column adder tree (registered) and accumulator
            wire signed [COL_W-1:0] column;
            reg  signed [COL_W-1:0] column_q;
            pe_column #(.TM(TM), .SUM_W(SUM_W)) u_column (
                .unit_sums(unit_sums[i*TM*SUM_W +: TM*SUM_W]), .column(column)
            );
            wire signed [ACC_W-1:0] addend;
            if (COL_W >= ACC_W) begin : g_trunc
                // partial sums of a layer fit its accumulator, so the dropped bits are sign copies
                assign addend = column_q[ACC_W-1:0];
            end else begin : g_extend
                assign addend = {{(ACC_W-COL_W){column_q[COL_W-1]}}, column_q};
            end
            reg signed [ACC_W-1:0] acc;
            wire signed [ACC_W-1:0] total = first_d[DLY-1] ? addend : acc + addend;
            always @(posedge clk) begin
                column_q <= column;
                if (valid_d[DLY-1]) acc <= total;
            end
            assign out_sums[i*ACC_W +: ACC_W] = total;
        end
    endgenerate

    assign out_valid = valid_d[DLY-1] && last_d[DLY-1];
    assign out_tag   = tag_d[DLY*TAG_W-1 -: TAG_W];
endmodule
