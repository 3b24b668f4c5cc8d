// The DDR channel's arbiter: NPORTS DMA engines, one master port.
//
// Each engine has at most one request outstanding, stamped with the cycle it was made. When the
// channel is free (m_req_ready) the arbiter grants, in the same cycle, the request made earliest;
// on a tie of stamps the lower port wins (port 0 store, 1 input, 2 weight). The granted engine
// owns the channel until its request ends: the read beats (m_rd_*) and write-beat strobes
// (m_wr_*) of the slave go to it, and its write data to the slave. The first beat comes at least
// a cycle after the grant (ddr.latency_cycles >= 1), so beats go to the registered owner.
module ddr_arbiter #(
    parameter NPORTS   = 3,
    parameter STAMP_W  = 32,
    parameter ADDR_W   = 32,
    parameter BEATS_W  = 24,
    parameter DATA_W   = 64
) (
    input  wire                       clk,
    input  wire                       rst,
    // engines
    input  wire [NPORTS-1:0]          req_valid,
    input  wire [NPORTS*STAMP_W-1:0]  req_stamp,
    input  wire [NPORTS-1:0]          req_write,
    input  wire [NPORTS*ADDR_W-1:0]   req_base,
    input  wire [NPORTS*ADDR_W-1:0]   req_seg,
    input  wire [NPORTS*ADDR_W-1:0]   req_stride,
    input  wire [NPORTS*BEATS_W-1:0]  req_bps,
    input  wire [NPORTS*BEATS_W-1:0]  req_offset,
    input  wire [NPORTS*BEATS_W-1:0]  req_beats,
    output wire [NPORTS-1:0]          grant,
    output wire [NPORTS-1:0]          beat,       // a read beat arrives / a write beat is taken
    output wire                       beat_last,  // ... and it is the request's last
    input  wire [NPORTS*DATA_W-1:0]   wr_data,
    // the channel (slave: the DDR controller)
    output wire                       m_req_valid,
    input  wire                       m_req_ready,
    output wire                       m_req_write,
    output wire [ADDR_W-1:0]          m_req_base,
    output wire [ADDR_W-1:0]          m_req_seg,
    output wire [ADDR_W-1:0]          m_req_stride,
    output wire [BEATS_W-1:0]         m_req_bps,
    output wire [BEATS_W-1:0]         m_req_offset,
    output wire [BEATS_W-1:0]         m_req_beats,
    input  wire                       m_rd_valid,
    input  wire                       m_rd_last,
    input  wire                       m_wr_ready,
    input  wire                       m_wr_last,
    output wire [DATA_W-1:0]          m_wr_data
);
    localparam PORT_W = (NPORTS > 1) ? $clog2(NPORTS) : 1;

    // winner: earliest stamp, then lowest port
    reg [NPORTS-1:0] wins;
    integer p, q;
    always @(*) begin
        for (p = 0; p < NPORTS; p = p + 1) begin
            wins[p] = req_valid[p];
            for (q = 0; q < NPORTS; q = q + 1) begin
                if (q != p && req_valid[q]) begin
                    if (req_stamp[q*STAMP_W +: STAMP_W] < req_stamp[p*STAMP_W +: STAMP_W]) wins[p] = 1'b0;
                    if (req_stamp[q*STAMP_W +: STAMP_W] == req_stamp[p*STAMP_W +: STAMP_W] && q < p) wins[p] = 1'b0;
                end
            end
        end
    end

    reg [PORT_W-1:0] winner;
    always @(*) begin
        winner = {PORT_W{1'b0}};
        for (p = 0; p < NPORTS; p = p + 1)
            if (wins[p]) winner = p[PORT_W-1:0];
    end

    assign m_req_valid  = |req_valid;
    assign grant        = m_req_ready ? wins : {NPORTS{1'b0}};
    assign m_req_write  = req_write[winner];
    assign m_req_base   = req_base[winner*ADDR_W +: ADDR_W];
    assign m_req_seg    = req_seg[winner*ADDR_W +: ADDR_W];
    assign m_req_stride = req_stride[winner*ADDR_W +: ADDR_W];
    assign m_req_bps    = req_bps[winner*BEATS_W +: BEATS_W];
    assign m_req_offset = req_offset[winner*BEATS_W +: BEATS_W];
    assign m_req_beats  = req_beats[winner*BEATS_W +: BEATS_W];

    // the owner of the channel, registered at the grant
    reg [PORT_W-1:0] owner;
    always @(posedge clk) begin
        if (rst) owner <= {PORT_W{1'b0}};
        else if (m_req_valid && m_req_ready) owner <= winner;
    end
    wire any_beat = m_rd_valid | m_wr_ready;
    genvar g;
    generate
        for (g = 0; g < NPORTS; g = g + 1) begin : g_port
            assign beat[g] = any_beat && (owner == g);
        end
    endgenerate
    assign beat_last = m_rd_valid ? m_rd_last : m_wr_last;
    assign m_wr_data = wr_data[owner*DATA_W +: DATA_W];
endmodule
