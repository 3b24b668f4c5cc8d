// Simple dual-port RAM with per-item write enables and a registered read: one write port and one
// read port on one clock. Written as the Xilinx/Yosys block-RAM inference template (a word of
// ITEMS items of ITEM_W bits, one enable per item, read data registered), so it maps to RAMB18/36
// (or to LUT RAM when shallow). Read-during-write of one address returns the old data.
module sdp_ram #(
    parameter ITEM_W = 8,     // bits per item (the write-enable granularity)
    parameter ITEMS  = 1,     // items per word
    parameter DEPTH  = 512,   // words
    parameter ADDR_W = 9      // address bits, >= clog2(DEPTH)
) (
    input  wire                      clk,
    input  wire [ITEMS-1:0]          we,     // one enable per item
    input  wire [ADDR_W-1:0]         waddr,
    input  wire [ITEMS*ITEM_W-1:0]   wdata,
    input  wire                      re,
    input  wire [ADDR_W-1:0]         raddr,
    output reg  [ITEMS*ITEM_W-1:0]   rdata   // mem[raddr] of the previous cycle's read
);
    reg [ITEMS*ITEM_W-1:0] mem [0:DEPTH-1];
    integer i;

    always @(posedge clk) begin
        for (i = 0; i < ITEMS; i = i + 1)
            if (we[i]) mem[waddr][i*ITEM_W +: ITEM_W] <= wdata[i*ITEM_W +: ITEM_W];
        if (re) rdata <= mem[raddr];
    end
endmodule
