// The output buffer: RAMS interleaved memories of one pixel (TN activations) per word, pixel p of
// a half in memory p mod RAMS at row p / RAMS; both ping-pong halves in one address space (half h
// holds rows [h*HALF_ROWS, (h+1)*HALF_ROWS) of every memory).
//
// Write side (the requantization lanes): one pixel per cycle. Read side (the store DMA): one
// row of every memory per cycle, each at its own address (the RAMS pixels of one DDR beat lie
// in distinct memories); the words come back one cycle later.
module output_buffer #(
    parameter TN        = 8,
    parameter A         = 8,
    parameter RAMS      = 1,      // a power of two
    parameter HALF_ROWS = 1024,   // rows per memory and half
    parameter ROW_W     = $clog2(2 * HALF_ROWS),
    parameter RAM_W     = (RAMS > 1) ? $clog2(RAMS) : 1
) (
    input  wire                      clk,
    input  wire                      wr_valid,
    input  wire [ROW_W-1:0]          wr_row,
    input  wire [RAM_W-1:0]          wr_ram,
    input  wire [TN*A-1:0]           wr_data,
    input  wire                      rd_en,
    input  wire [RAMS*ROW_W-1:0]     rd_row,
    output wire [RAMS*TN*A-1:0]      rd_words
);
    genvar r;
    generate
        for (r = 0; r < RAMS; r = r + 1) begin : g_ram
            wire mine = wr_valid && (RAMS == 1 || wr_ram == r[RAM_W-1:0]);
            sdp_ram #(.ITEM_W(TN*A), .ITEMS(1), .DEPTH(2 * HALF_ROWS), .ADDR_W(ROW_W)) u_mem (
                .clk(clk), .we(mine), .waddr(wr_row), .wdata(wr_data),
                .re(rd_en), .raddr(rd_row[r*ROW_W +: ROW_W]), .rdata(rd_words[r*TN*A +: TN*A])
            );
        end
    endgenerate
endmodule
