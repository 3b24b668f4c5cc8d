// A buffer memory that accepts several item writes per cycle: IL interleaved block RAMs
// (sdp_ram), word w in RAM (w mod IL) at local address (w / IL), each word SLOTS items wide.
//
// Every cycle up to LANES items are written, lane l writing item lane_slot[l] of global word
// lane_word[l]. The DMA engines guarantee that the words written in one cycle are distinct
// modulo IL unless equal (they write runs of consecutive items, and IL covers a run), so each RAM
// takes at most one word per cycle with per-item enables. Two lanes never write the same item.
//
// The read port reads one word from every RAM: RAM q at local address rd_addr[q]; the words come
// back registered (sdp_ram), RAM q's in rd_data[q*SLOTS*ITEM_W +: SLOTS*ITEM_W].
module scatter_ram #(
    parameter ITEM_W = 8,
    parameter SLOTS  = 8,     // items per word
    parameter IL     = 2,     // interleaved RAMs (a power of two)
    parameter DEPTH  = 256,   // words per RAM
    parameter LANES  = 8,     // items written per cycle
    parameter SLOT_W = 3,     // bits of a slot index
    parameter ADDR_W = 8,     // bits of a local RAM address (>= clog2(DEPTH))
    // bits of a global word index: the RAM in the low bits, the local address above
    parameter WORD_W = ADDR_W + ((IL > 1) ? $clog2(IL) : 0)
) (
    input  wire                          clk,
    input  wire [LANES-1:0]              lane_valid,
    input  wire [LANES*WORD_W-1:0]       lane_word,
    input  wire [LANES*SLOT_W-1:0]       lane_slot,
    input  wire [LANES*ITEM_W-1:0]       lane_data,
    input  wire                          rd_en,
    input  wire [IL*ADDR_W-1:0]          rd_addr,
    output wire [IL*SLOTS*ITEM_W-1:0]    rd_data
);
    localparam IL_BITS = (IL > 1) ? $clog2(IL) : 0;
    localparam BANK_W  = (IL > 1) ? IL_BITS : 1;

    // Split every lane's global word index into its RAM and its local address.
    wire [LANES*BANK_W-1:0] lane_bank;
    wire [LANES*ADDR_W-1:0] lane_local;
    genvar l, q;
    generate
        for (l = 0; l < LANES; l = l + 1) begin : g_lane
            if (IL > 1) begin : g_split
                assign lane_bank[l*BANK_W +: BANK_W] = lane_word[l*WORD_W +: IL_BITS];
            end else begin : g_single
                assign lane_bank[l*BANK_W +: BANK_W] = {BANK_W{1'b0}};
            end
            assign lane_local[l*ADDR_W +: ADDR_W] = lane_word[l*WORD_W + IL_BITS +: ADDR_W];
        end

        for (q = 0; q < IL; q = q + 1) begin : g_ram
            reg [SLOTS-1:0]        we;
            reg [ADDR_W-1:0]       waddr;
            reg [SLOTS*ITEM_W-1:0] wdata;
            integer i, s;
            always @(*) begin
                we = {SLOTS{1'b0}};
                waddr = {ADDR_W{1'b0}};
                wdata = {SLOTS*ITEM_W{1'b0}};
                if (|lane_valid) for (i = 0; i < LANES; i = i + 1) begin
                    if (lane_valid[i] && lane_bank[i*BANK_W +: BANK_W] == q[BANK_W-1:0]) begin
                        waddr = waddr | lane_local[i*ADDR_W +: ADDR_W];
                        for (s = 0; s < SLOTS; s = s + 1) begin
                            if (lane_slot[i*SLOT_W +: SLOT_W] == s[SLOT_W-1:0]) begin
                                we[s] = 1'b1;
                                wdata[s*ITEM_W +: ITEM_W] = wdata[s*ITEM_W +: ITEM_W] | lane_data[i*ITEM_W +: ITEM_W];
                            end
                        end
                    end
                end
            end
            sdp_ram #(.ITEM_W(ITEM_W), .ITEMS(SLOTS), .DEPTH(DEPTH), .ADDR_W(ADDR_W)) u_ram (
                .clk(clk), .we(we), .waddr(waddr), .wdata(wdata),
                .re(rd_en), .raddr(rd_addr[q*ADDR_W +: ADDR_W]),
                .rdata(rd_data[q*SLOTS*ITEM_W +: SLOTS*ITEM_W])
            );
        end
    endgenerate
endmodule
