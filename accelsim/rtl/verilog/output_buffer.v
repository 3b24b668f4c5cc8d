// The output buffer: TN channel memories, each a scatter_ram of two interleaved block RAMs with
// SLOTS activations per word, both ping-pong halves in one address space (half h holds items
// [h*HALF_ITEMS, (h+1)*HALF_ITEMS) of every channel).
//
// Write side (the requantization lanes): one output pixel per cycle, channel i's activation at
// item wr_item of memory i. Read side (the store DMA): both RAMs of every memory, RAM q of memory
// i at local address rd_addr[(i*2 + q)*ADDR_W]; the words come back one cycle later.
module output_buffer #(
    parameter TN         = 8,
    parameter A          = 8,
    parameter SLOTS      = 8,
    parameter HALF_ITEMS = 1024,
    parameter ITEM_W     = $clog2(2 * HALF_ITEMS),
    parameter SLOT_BITS  = (SLOTS > 1) ? $clog2(SLOTS) : 0,
    parameter ADDR_W     = ITEM_W - SLOT_BITS - 1
) (
    input  wire                      clk,
    input  wire                      wr_valid,
    input  wire [ITEM_W-1:0]         wr_item,
    input  wire [TN*A-1:0]           wr_data,
    input  wire                      rd_en,
    input  wire [TN*2*ADDR_W-1:0]    rd_addr,
    output wire [TN*2*SLOTS*A-1:0]   rd_words
);
    localparam SLOT_W = (SLOTS > 1) ? SLOT_BITS : 1;
    localparam DEPTH  = (2 * HALF_ITEMS) / (2 * SLOTS);
    wire [SLOT_W-1:0] slot;
    generate
        if (SLOTS > 1) begin : g_slot
            assign slot = wr_item[SLOT_BITS-1:0];
        end else begin : g_noslot
            assign slot = 1'b0;
        end
    endgenerate

    genvar i;
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_channel
            scatter_ram #(
                .ITEM_W(A), .SLOTS(SLOTS), .IL(2), .DEPTH(DEPTH), .LANES(1),
                .SLOT_W(SLOT_W), .ADDR_W(ADDR_W)
            ) u_mem (
                .clk(clk), .lane_valid(wr_valid), .lane_word(wr_item[ITEM_W-1:SLOT_BITS]),
                .lane_slot(slot), .lane_data(wr_data[i*A +: A]),
                .rd_en(rd_en), .rd_addr(rd_addr[i*2*ADDR_W +: 2*ADDR_W]),
                .rd_data(rd_words[i*2*SLOTS*A +: 2*SLOTS*A])
            );
        end
    endgenerate
endmodule
