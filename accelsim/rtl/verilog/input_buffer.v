// The input buffer (docs/microarchitecture.md, section 4): COPIES copies of one memory that holds
// the input rows of a tile as they arrive from DDR, both ping-pong halves in one address space
// (half h holds bytes [h*HALF_BYTES, (h+1)*HALF_BYTES)).
//
// Each copy is two simple dual-port RAMs of WORD bytes per word: even words in RAM 0, odd words in
// RAM 1 (word w at row w >> 1), so any two consecutive words are read in one cycle.
//
// Write side (the input DMA): one DDR beat per cycle into lane `wr_lane` (BEAT bytes) of word
// `wr_word`, the same in every copy.
//
// Read side (the PE datapath): each copy reads a run at its own byte address: the two words
// holding it come back a cycle later and CHUNKS chunks of CHUNK bytes are cut out of them, chunk i
// at byte `addr + i*STRIDE` (modulo the two words). Every address is a multiple of GRAN bytes.
module input_buffer #(
    parameter COPIES     = 3,
    parameter WORD       = 32,     // bytes per word (a power of two, >= BEAT)
    parameter BEAT       = 8,      // bytes written per cycle (a power of two)
    parameter HALF_BYTES = 32768,  // bytes per half (a multiple of 2*WORD)
    parameter CHUNKS     = 3,
    parameter CHUNK      = 4,      // bytes per chunk
    parameter STRIDE     = 8,      // bytes from one chunk to the next
    parameter GRAN       = 4,      // every read address is a multiple of GRAN (a power of two)
    parameter ADDR_W     = $clog2(2 * HALF_BYTES),
    parameter WORD_IDX_W = ADDR_W - $clog2(WORD)
) (
    input  wire                         clk,
    input  wire                         wr_valid,
    input  wire [WORD_IDX_W-1:0]        wr_word,
    input  wire [((WORD/BEAT > 1) ? $clog2(WORD/BEAT) : 1)-1:0] wr_lane,
    input  wire [8*BEAT-1:0]            wr_data,
    input  wire                         rd_en,
    input  wire [COPIES*ADDR_W-1:0]     rd_addr,
    output wire [COPIES*CHUNKS*CHUNK*8-1:0] rd_data
);
    localparam LANES  = WORD / BEAT;
    localparam LANE_W = (LANES > 1) ? $clog2(LANES) : 1;
    localparam WORD_B = $clog2(WORD);
    localparam DEPTH  = HALF_BYTES / WORD;            // rows per RAM: both halves, half of the words
    localparam ROW_W  = WORD_IDX_W - 1;
    localparam POS    = 2 * WORD / GRAN;             // run start positions in the two words
    localparam POS_W  = $clog2(POS);
    localparam GRAN_B = $clog2(GRAN);
    localparam RUN    = (CHUNKS - 1) * STRIDE + CHUNK;   // bytes from the first chunk to the last

    // write: one lane of one word, in the RAM of the word's parity
    reg [LANES-1:0] lane_we;
    integer l;
    always @(*) begin
        for (l = 0; l < LANES; l = l + 1)
            lane_we[l] = wr_valid && (LANES == 1 || wr_lane == l[LANE_W-1:0]);
    end
    wire [ROW_W-1:0]     wr_row = wr_word[WORD_IDX_W-1:1];
    wire [8*WORD-1:0]    wr_wide = {LANES{wr_data}};

    genvar c;
    generate
        for (c = 0; c < COPIES; c = c + 1) begin : g_copy
            /* verilator lint_off UNUSEDSIGNAL */
            wire [ADDR_W-1:0]     addr = rd_addr[c*ADDR_W +: ADDR_W];   // a multiple of GRAN
            wire [ROW_W:0]        word = addr[ADDR_W-1:WORD_B];
            wire [ROW_W:0]        next = word + 1'b1;                   // its row: bits above the parity
            /* verilator lint_on UNUSEDSIGNAL */
            wire [8*WORD-1:0]     even, odd;
            sdp_ram #(.ITEM_W(8*BEAT), .ITEMS(LANES), .DEPTH(DEPTH), .ADDR_W(ROW_W)) u_even (
                .clk(clk), .we(wr_word[0] ? {LANES{1'b0}} : lane_we), .waddr(wr_row), .wdata(wr_wide),
                .re(rd_en), .raddr(next[ROW_W:1]), .rdata(even)
            );
            sdp_ram #(.ITEM_W(8*BEAT), .ITEMS(LANES), .DEPTH(DEPTH), .ADDR_W(ROW_W)) u_odd (
                .clk(clk), .we(wr_word[0] ? lane_we : {LANES{1'b0}}), .waddr(wr_row), .wdata(wr_wide),
                .re(rd_en), .raddr(word[ROW_W:1]), .rdata(odd)
            );
            // the run's start in the two words {odd, even}: the address modulo 2*WORD
            reg [POS_W-1:0] start;
            always @(posedge clk) if (rd_en) start <= addr[WORD_B:GRAN_B];
            wire [32*WORD-1:0] circle = {odd, even, odd, even};
            /* verilator lint_off UNUSEDSIGNAL */
            wire [8*RUN-1:0]   run = circle[start*GRAN*8 +: 8*RUN];   // only the chunks are used
            /* verilator lint_on UNUSEDSIGNAL */
            genvar i;
            for (i = 0; i < CHUNKS; i = i + 1) begin : g_chunk
                assign rd_data[(c*CHUNKS + i)*CHUNK*8 +: CHUNK*8] = run[i*STRIDE*8 +: CHUNK*8];
            end
        end
    endgenerate
endmodule
