// Walks a layer's tiles in the order of the timing contract: t = r*N + n, row group r outer,
// output-channel group n inner. Holds the current tile's index and row group and what is left of
// the map; `next_tile` moves to tile t+1, `next_row` to the first tile of the next row group.
// `clear` returns to tile 0.
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
    output wire             first_group,  // n = 0
    output wire             last_group,   // n = N - 1
    output wire             last_row,     // r = R - 1
    output wire [DIM_W-1:0] rows,         // output rows of the row group
    output wire [CH_W-1:0]  chans,        // output channels of the channel group
    // first_group, last_group and last_row as they will be in the next cycle (the descriptor
    // holding still: not in the cycle of a clear)
    output wire             first_group_n,
    output wire             last_group_n,
    output wire             last_row_n
);
    localparam integer TN_I = TN;
    localparam [CH_W-1:0] TN_C = TN_I[CH_W-1:0];
    // What is left of the map past the current tile, and whether that is its last row or channel
    // group, kept in registers (the first tile's from the descriptor: a clear comes at the end of
    // the previous layer, before this layer's descriptor holds), so that no subtraction and
    // comparison lies between this state and the decisions that use it.
    reg              row_moved, chan_moved;   // past the first row group / channel group
    reg [DIM_W-1:0]  rows_left_q;
    reg [CH_W-1:0]   chans_left_q;
    reg              last_row_q, last_group_q;
    wire [DIM_W-1:0] rows_left  = row_moved ? rows_left_q : out_height;
    wire [CH_W-1:0]  chans_left = chan_moved ? chans_left_q : out_channels;
    assign last_row   = row_moved ? last_row_q : (out_height <= tile_rows);
    assign last_group = chan_moved ? last_group_q : (out_channels <= TN_C);
    assign first_group = !chan_moved;
    assign rows       = last_row ? rows_left : tile_rows;
    assign chans      = last_group ? chans_left : TN_C;
    wire             row_step = next_row || (next_tile && last_group);
    wire             chan_step = next_tile && !row_step;
    // the flags' next values (row_moved_d ... last_group_d: the registers' inputs)
    wire             row_moved_d  = !clear && (row_moved || row_step);
    wire             chan_moved_d = !clear && (chan_step || (chan_moved && !row_step));
    wire             last_row_d   = (!clear && row_step) ? ({1'b0, rows_left} <= {tile_rows, 1'b0})   // rows_left - Tr <= Tr
                                                         : last_row_q;
    wire             last_group_d = (!clear && chan_step) ? ({1'b0, chans_left} <= {TN_C, 1'b0})  // chans_left - TN <= TN
                                                          : last_group_q;
    assign first_group_n = !chan_moved_d;
    assign last_row_n    = row_moved_d ? last_row_d : (out_height <= tile_rows);
    assign last_group_n  = chan_moved_d ? last_group_d : (out_channels <= TN_C);
    always @(posedge clk) begin
        row_moved <= row_moved_d;
        chan_moved <= chan_moved_d;
        last_row_q <= last_row_d;
        last_group_q <= last_group_d;
        if (clear) begin
            index <= {IDX_W{1'b0}};
            row_group <= {IDX_W{1'b0}};
        end else if (row_step) begin
            index <= next_row ? index + groups_n : index + 1'b1;
            row_group <= row_group + 1'b1;
            rows_left_q <= rows_left - tile_rows;
        end else if (next_tile) begin
            index <= index + 1'b1;
            chans_left_q <= chans_left - TN_C;
        end
    end
endmodule
