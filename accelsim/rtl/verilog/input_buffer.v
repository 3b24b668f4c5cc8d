// The input buffer: NB = TM*KMAX*KMAX banks, each a scatter_ram of two interleaved block RAMs
// with SLOTS activations per word, both ping-pong halves in one address space (half h holds
// items [h*HALF_ITEMS, (h+1)*HALF_ITEMS) of every bank).
//
// Write side (the input DMA): up to LANES activations per cycle, lane l to bank lane_bank[l] at
// item lane_item[l]. The DMA writes each bank in runs of consecutive items no longer than SLOTS,
// so a run touches at most two consecutive words, one per RAM of the bank.
//
// Read side (the PE array): one activation from every bank per cycle. Bank (c, ym, xm) (input
// channel c of the group, window row/column class ym, xm) reads item rd_item[ym*KMAX + xm]; the
// activations come back one cycle later in rd_data, bank b at (b*A).
module input_buffer #(
    parameter TM         = 4,
    parameter KMAX       = 3,
    parameter A          = 8,
    parameter SLOTS      = 8,     // activations per RAM word (a power of two)
    parameter HALF_ITEMS = 2048,  // items per bank and half (a multiple of 2*SLOTS)
    parameter LANES      = 8,
    parameter ITEM_W     = $clog2(2 * HALF_ITEMS),
    parameter NB         = TM * KMAX * KMAX,
    parameter BANK_W     = (NB > 1) ? $clog2(NB) : 1
) (
    input  wire                        clk,
    input  wire [LANES-1:0]            lane_valid,
    input  wire [LANES*BANK_W-1:0]     lane_bank,
    input  wire [LANES*ITEM_W-1:0]     lane_item,
    input  wire [LANES*A-1:0]          lane_data,
    input  wire                        rd_en,
    input  wire [KMAX*KMAX*ITEM_W-1:0] rd_item,
    output wire [NB*A-1:0]             rd_data
);
    localparam SLOT_W = (SLOTS > 1) ? $clog2(SLOTS) : 1;
    localparam SLOT_BITS = (SLOTS > 1) ? $clog2(SLOTS) : 0;
    localparam WORD_W = ITEM_W - SLOT_BITS;   // global word index (RAM in bit 0)
    localparam ADDR_W = WORD_W - 1;           // local RAM address
    localparam DEPTH  = (2 * HALF_ITEMS) / (2 * SLOTS);

    // split the write lanes' items into words and slots (the same for every bank)
    wire [LANES*WORD_W-1:0] lane_word;
    wire [LANES*SLOT_W-1:0] lane_slot;
    genvar l, b;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : g_lane
            assign lane_word[l*WORD_W +: WORD_W] = lane_item[l*ITEM_W + SLOT_BITS +: WORD_W];
            if (SLOTS > 1) begin : g_slot
                assign lane_slot[l*SLOT_W +: SLOT_W] = lane_item[l*ITEM_W +: SLOT_BITS];
            end else begin : g_noslot
                assign lane_slot[l*SLOT_W +: SLOT_W] = 1'b0;
            end
        end

        for (b = 0; b < NB; b = b + 1) begin : g_bank
            localparam CLASS = b % (KMAX * KMAX);
            wire [ITEM_W-1:0] item = rd_item[CLASS*ITEM_W +: ITEM_W];
            wire [2*ADDR_W-1:0] rd_addr = {2{item[SLOT_BITS+1 +: ADDR_W]}};
            wire [2*SLOTS*A-1:0] words;
            reg [LANES-1:0] mine;
            integer i;
            always @(*) begin
                for (i = 0; i < LANES; i = i + 1)
                    mine[i] = lane_valid[i] && (lane_bank[i*BANK_W +: BANK_W] == b[BANK_W-1:0]);
            end
            scatter_ram #(
                .ITEM_W(A), .SLOTS(SLOTS), .IL(2), .DEPTH(DEPTH), .LANES(LANES),
                .SLOT_W(SLOT_W), .ADDR_W(ADDR_W)
            ) u_bank (
                .clk(clk), .lane_valid(mine), .lane_word(lane_word), .lane_slot(lane_slot),
                .lane_data(lane_data), .rd_en(rd_en), .rd_addr(rd_addr), .rd_data(words)
            );
            reg [SLOT_BITS:0] pick_q;   // {RAM, slot} of the item read last cycle
            always @(posedge clk) if (rd_en) pick_q <= item[SLOT_BITS:0];
            wire [SLOTS*A-1:0] chosen = pick_q[SLOT_BITS] ? words[SLOTS*A +: SLOTS*A] : words[0 +: SLOTS*A];
            if (SLOTS > 1) begin : g_pick
                assign rd_data[b*A +: A] = chosen[pick_q[SLOT_BITS-1:0]*A +: A];
            end else begin : g_whole
                assign rd_data[b*A +: A] = chosen;
            end
        end
    endgenerate
endmodule
