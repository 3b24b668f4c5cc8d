// The weight buffer: one step word per address, both ping-pong halves in one address space
// (half h holds words [h*HALF_WORDS, (h+1)*HALF_WORDS)), and the requantization parameters of
// each half's output channels.
//
// A step word holds the weight item of every PE unit: row i (output channel) is its own
// scatter_ram of TM items per word, IL interleaved RAMs, so the weight DMA can write the items of
// several consecutive steps of one row in one cycle (LANES items: the weight pairs completed by
// one DDR beat). Reads return the whole word of one step, one cycle later.
//
// Parameters: per half and output channel a 64-bit little-endian word, bits [15:0] the signed
// multiplier and bits [63:16] the signed bias (docs/rtl.md), written byte by byte by the DMA.
module weight_buffer #(
    parameter TN         = 8,
    parameter TM         = 4,
    parameter ITEM_W     = 14,   // bits of one unit's weight item
    parameter IL         = 8,    // interleaved RAMs per row (a power of two)
    parameter HALF_WORDS = 512,  // step words per half (a multiple of IL)
    parameter LANES      = 16,   // items written per cycle
    parameter BEAT       = 8,    // parameter bytes written per cycle
    parameter WORD_W     = $clog2(2 * HALF_WORDS),
    parameter SLOT_W     = (TM > 1) ? $clog2(TM) : 1,
    parameter ROW_W      = (TN > 1) ? $clog2(TN) : 1,
    parameter PBYTE_W    = ROW_W + 4   // {half, channel, byte} of a parameter byte
) (
    input  wire                        clk,
    // item writes
    input  wire [LANES-1:0]            lane_valid,
    input  wire [LANES*ROW_W-1:0]      lane_row,
    input  wire [LANES*WORD_W-1:0]     lane_word,
    input  wire [LANES*SLOT_W-1:0]     lane_slot,
    input  wire [LANES*ITEM_W-1:0]     lane_data,
    // parameter byte writes
    input  wire [BEAT-1:0]             pbyte_valid,
    input  wire [BEAT*PBYTE_W-1:0]     pbyte_index,
    input  wire [BEAT*8-1:0]           pbyte_data,
    // step reads
    input  wire                        rd_en,
    input  wire [WORD_W-1:0]           rd_word,
    output wire [TN*TM*ITEM_W-1:0]     rd_items,   // unit (i, j) at ((i*TM + j)*ITEM_W)
    // parameters of one half
    input  wire                        param_half,
    output wire [TN*64-1:0]            params      // channel i at (i*64)
);
    localparam IL_BITS = (IL > 1) ? $clog2(IL) : 0;
    localparam ADDR_W  = WORD_W - IL_BITS;
    localparam DEPTH   = (2 * HALF_WORDS) / IL;

    genvar i;
    generate
        for (i = 0; i < TN; i = i + 1) begin : g_row
            reg [LANES-1:0] mine;
            integer l;
            always @(*) begin
                for (l = 0; l < LANES; l = l + 1)
                    mine[l] = lane_valid[l] && (lane_row[l*ROW_W +: ROW_W] == i[ROW_W-1:0]);
            end
            wire [IL*TM*ITEM_W-1:0] words;
            scatter_ram #(
                .ITEM_W(ITEM_W), .SLOTS(TM), .IL(IL), .DEPTH(DEPTH), .LANES(LANES),
                .SLOT_W(SLOT_W), .ADDR_W(ADDR_W)
            ) u_row (
                .clk(clk), .lane_valid(mine), .lane_word(lane_word), .lane_slot(lane_slot),
                .lane_data(lane_data), .rd_en(rd_en), .rd_addr({IL{rd_word[WORD_W-1 -: ADDR_W]}}),
                .rd_data(words)
            );
            if (IL > 1) begin : g_pick
                reg [IL_BITS-1:0] ram_q;
                always @(posedge clk) if (rd_en) ram_q <= rd_word[IL_BITS-1:0];
                assign rd_items[i*TM*ITEM_W +: TM*ITEM_W] = words[ram_q*TM*ITEM_W +: TM*ITEM_W];
            end else begin : g_one
                assign rd_items[i*TM*ITEM_W +: TM*ITEM_W] = words;
            end
        end
    endgenerate

    // requantization parameters: [half][channel][byte]
    reg [8-1:0] pmem [0:(1 << PBYTE_W) - 1];
    integer p;
    always @(posedge clk) begin
        for (p = 0; p < BEAT; p = p + 1)
            if (pbyte_valid[p]) pmem[pbyte_index[p*PBYTE_W +: PBYTE_W]] <= pbyte_data[p*8 +: 8];
    end
    genvar c, k;
    generate
        for (c = 0; c < TN; c = c + 1) begin : g_param
            for (k = 0; k < 8; k = k + 1) begin : g_byte
                wire [PBYTE_W-1:0] index = {param_half, c[ROW_W-1:0], k[2:0]};
                assign params[c*64 + k*8 +: 8] = pmem[index];
            end
        end
    endgenerate
endmodule
