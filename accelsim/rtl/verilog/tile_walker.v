// Walks a layer's tiles in the order of the timing contract: t = r*N + n, row group r outer,
// output-channel group n inner. Holds the current tile's row group (its first output row) and
// channel group (its first output channel); `next_tile` moves to tile t+1, `next_row` to the
// first tile of the next row group. `clear` returns to tile 0.
module tile_walker #(
    parameter TN    = 8,
    parameter DIM_W = 12,
    parameter CH_W  = 16,
    parameter IDX_W = 24
) (
    input  wire             clk,
    input  wire             clear,
    input  wire             next_tile,
    input  wire             next_row,
    input  wire [DIM_W-1:0] tile_rows,    // Tr
    input  wire [DIM_W-1:0] out_height,   // H_out
    input  wire [CH_W-1:0]  out_channels, // C_out
    input  wire [IDX_W-1:0] groups_n,     // N
    output reg  [IDX_W-1:0] index,        // t (next_tile) or the row group's first tile (next_row)
    output reg  [IDX_W-1:0] row_group,    // r
    output reg  [DIM_W-1:0] row_first,    // r * Tr
    output reg  [CH_W-1:0]  chan_first,   // n * TN
    output wire             last_group,   // n = N - 1
    output wire             last_row,     // r = R - 1
    output wire [DIM_W-1:0] rows,         // output rows of the row group
    output wire [CH_W-1:0]  chans         // output channels of the channel group
);
    localparam integer TN_I = TN;
    localparam [CH_W-1:0] TN_C = TN_I[CH_W-1:0];
    wire [DIM_W-1:0] rows_left = out_height - row_first;
    wire [CH_W-1:0]  chans_left = out_channels - chan_first;
    assign last_group = (chans_left <= TN_C);
    assign last_row   = (rows_left <= tile_rows);
    assign rows       = last_row ? rows_left : tile_rows;
    assign chans      = last_group ? chans_left : TN_C;
    always @(posedge clk) begin
        if (clear) begin
            index <= {IDX_W{1'b0}};
            row_group <= {IDX_W{1'b0}};
            row_first <= {DIM_W{1'b0}};
            chan_first <= {CH_W{1'b0}};
        end else if (next_row || (next_tile && last_group)) begin
            index <= next_row ? index + groups_n : index + 1'b1;
            row_group <= row_group + 1'b1;
            row_first <= row_first + tile_rows;
            chan_first <= {CH_W{1'b0}};
        end else if (next_tile) begin
            index <= index + 1'b1;
            chan_first <= chan_first + TN_C;
        end
    end
endmodule
