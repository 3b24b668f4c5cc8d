// Testbench (simulation only, Verilator without --timing): the configured core `accelsim_top`
// (written by accelsim.rtl.emit), a DDR model, a layer sequencer and the trace/dump files.
//
// DDR model: one channel, BEAT bytes per cycle, DDR_LATENCY cycles per request. A request
// accepted in cycle g (the grant; the channel is ready whenever it is idle) holds the channel
// for DDR_LATENCY + beats cycles, its data beats in the last `beats` of them (with zero latency
// the first beat is in cycle g itself), and the channel is ready again in the cycle after the
// last beat: docs/microarchitecture.md, section 7. Beat t of a transfer (t = the request's beat
// offset + its beat index) is in segment s = t / bps at byte (t mod bps) * BEAT of the segment;
// segment s starts at base + s * stride and has `seg` bytes (the rest of its last beat is not
// read or written).
//
// Files (plusargs): +ddr=FILE (memory image, $readmemh bytes), +desc=FILE (word 0: the number of
// layers, then NF words per layer, in the order of accelsim.rtl.images.DESCRIPTOR_FIELDS), +trace=FILE (one line per event:
// `layer event tile part start end`), +dump=FILE (the first +dump_bytes=N bytes of DDR at the end),
// +latency=L (DDR_LATENCY by default), +max_cycles=N (the run stops with a `timeout` line),
// +requests=1 (also log every granted request: `layer request write bytes cycle address`).
// The layers run back to back: layer l+1 starts in the cycle layer l's last store ends.
/* verilator lint_off WIDTH */
module tb_harness #(
    parameter DDR_LATENCY = 30
) (
    input wire clk
);
    `include "accelsim_params.vh"     // BEAT, BEATS_W, IDX_W, STAMP_W, DDR_BYTES, MAX_LAYERS, NF, MODE_FIELD

    // ---------------------------------------------------------------- reset and files
    reg [3:0] rst_count = 4'd0;
    wire rst = (rst_count != 4'd15);
    always @(posedge clk) if (rst) rst_count <= rst_count + 4'd1;

    reg [7:0]  ddr  [0:DDR_BYTES-1];
    reg [31:0] desc [0:1 + MAX_LAYERS*NF - 1];
    integer trace_fd, dump_bytes, latency, max_cycles, log_requests;
    reg [8*512-1:0] path;
    initial begin
        if (!$value$plusargs("ddr=%s", path)) begin $display("tb: +ddr=FILE missing"); $finish; end
        $readmemh(path, ddr);
        if (!$value$plusargs("desc=%s", path)) begin $display("tb: +desc=FILE missing"); $finish; end
        $readmemh(path, desc);
        if (!$value$plusargs("trace=%s", path)) begin $display("tb: +trace=FILE missing"); $finish; end
        trace_fd = $fopen(path, "w");
        if (!$value$plusargs("dump_bytes=%d", dump_bytes)) dump_bytes = 0;
        if (!$value$plusargs("latency=%d", latency)) latency = DDR_LATENCY;
        if (!$value$plusargs("max_cycles=%d", max_cycles)) max_cycles = 100000000;
        if (!$value$plusargs("requests=%d", log_requests)) log_requests = 0;
    end

    // ---------------------------------------------------------------- layer sequencer
    integer layer = 0;
    reg     started = 1'b0;
    reg     pending_start = 1'b0;
    wire    layer_ending;
    wire    layer_start = !rst && (layer < desc[0]) && (!started || pending_start);
    function [31:0] field(input integer f);
        field = desc[1 + layer*NF + f];
    endfunction

    wire [STAMP_W-1:0] now;
    wire               m_req_valid, m_req_write;
    wire [31:0]        m_req_base, m_req_seg, m_req_stride;
    wire [BEATS_W-1:0] m_req_bps, m_req_offset, m_req_beats;
    reg                m_rd_valid, m_rd_last, m_wr_ready, m_wr_last;
    reg  [8*BEAT-1:0]  m_rd_data;
    wire [8*BEAT-1:0]  m_wr_data;
    wire               m_req_ready;
    wire [2:0]         tr_xfer_valid, tr_xfer_part;
    wire [3*IDX_W-1:0] tr_xfer_tile;
    wire [3*STAMP_W-1:0] tr_xfer_start;
    wire               tr_pe_valid, err_underrun;
    wire [IDX_W-1:0]   tr_pe_tile;
    wire [STAMP_W-1:0] tr_pe_start;

    accelsim_top u_dut (
        .clk(clk), .rst(rst), .now(now), .layer_start(layer_start), .layer_ending(layer_ending),
        `include "accelsim_desc.vh"      // .desc_<field>(field(<index>)), one per descriptor field
        .m_req_valid(m_req_valid), .m_req_ready(m_req_ready), .m_req_write(m_req_write),
        .m_req_base(m_req_base), .m_req_seg(m_req_seg), .m_req_stride(m_req_stride),
        .m_req_bps(m_req_bps), .m_req_offset(m_req_offset), .m_req_beats(m_req_beats),
        .m_rd_valid(m_rd_valid), .m_rd_last(m_rd_last), .m_rd_data(m_rd_data),
        .m_wr_ready(m_wr_ready), .m_wr_last(m_wr_last), .m_wr_data(m_wr_data),
        .tr_xfer_valid(tr_xfer_valid), .tr_xfer_part(tr_xfer_part), .tr_xfer_tile(tr_xfer_tile),
        .tr_xfer_start(tr_xfer_start), .tr_pe_valid(tr_pe_valid), .tr_pe_tile(tr_pe_tile),
        .tr_pe_start(tr_pe_start), .err_underrun(err_underrun)
    );

    // ---------------------------------------------------------------- DDR model
    reg         busy = 1'b0;
    reg [31:0]  age;                 // cycles since the grant
    reg         q_write;
    reg [31:0]  q_base, q_seg, q_stride, q_bps, q_offset, q_beats;
    assign m_req_ready = !busy;
    wire        accept = m_req_valid && m_req_ready;
    wire        active = busy || accept;
    wire [31:0] cur_age    = busy ? age : 32'd0;
    wire        cur_write  = busy ? q_write : m_req_write;
    wire [31:0] cur_base   = busy ? q_base : m_req_base;
    wire [31:0] cur_seg    = busy ? q_seg : m_req_seg;
    wire [31:0] cur_stride = busy ? q_stride : m_req_stride;
    wire [31:0] cur_bps    = busy ? q_bps : m_req_bps;
    wire [31:0] cur_offset = busy ? q_offset : m_req_offset;
    wire [31:0] beats      = busy ? q_beats : m_req_beats;
    wire        in_beat    = active && cur_age >= latency && cur_age < latency + beats;
    wire [31:0] beat_index = cur_age - latency;
    wire        last_beat  = in_beat && (beat_index + 1 == beats);
    wire [31:0] t          = cur_offset + beat_index;            // beat of the transfer
    wire [31:0] seg_byte     = (t % cur_bps) * BEAT;               // its byte in its segment
    wire [31:0] seg_base   = cur_base + (t / cur_bps) * cur_stride;

    integer e;
    always @(*) begin
        m_rd_valid = in_beat && !cur_write;
        m_rd_last  = last_beat && !cur_write;
        m_wr_ready = in_beat && cur_write;
        m_wr_last  = last_beat && cur_write;
        m_rd_data  = {8*BEAT{1'b0}};
        for (e = 0; e < BEAT; e = e + 1)
            if (in_beat && !cur_write && seg_byte + e < cur_seg)
                m_rd_data[e*8 +: 8] = ddr[seg_base + seg_byte + e];
    end

    always @(posedge clk) begin
        if (accept) begin
            q_write <= m_req_write;
            q_base <= m_req_base;
            q_seg <= m_req_seg;
            q_stride <= m_req_stride;
            q_bps <= m_req_bps;
            q_offset <= m_req_offset;
            q_beats <= m_req_beats;
        end
        if (active) begin
            busy <= !last_beat;
            age <= cur_age + 1;
        end
        // blocking: the memory is read only by the combinational read beats of other requests
        /* verilator lint_off BLKSEQ */
        if (in_beat && cur_write)
            for (e = 0; e < BEAT; e = e + 1)
                if (seg_byte + e < cur_seg)
                    ddr[seg_base + seg_byte + e] = m_wr_data[e*8 +: 8];
        /* verilator lint_on BLKSEQ */
    end

    // ---------------------------------------------------------------- trace, sequencing, end
    reg [STAMP_W-1:0] layer_begin;
    reg     boundary = 1'b0;   // the cycle a layer ended: its last events end here too
    integer owner;
    always @(*) owner = boundary ? layer - 1 : layer;
    always @(posedge clk) begin
        boundary <= layer_ending;
        if (!rst) begin
            if (tr_xfer_valid[0])
                $fwrite(trace_fd, "%0d load_input %0d %0d %0d %0d\n", owner, tr_xfer_tile[0 +: IDX_W],
                        tr_xfer_part[0], tr_xfer_start[0 +: STAMP_W], now);
            if (tr_xfer_valid[1])
                $fwrite(trace_fd, "%0d load_weight %0d %0d %0d %0d\n", owner, tr_xfer_tile[IDX_W +: IDX_W],
                        tr_xfer_part[1], tr_xfer_start[STAMP_W +: STAMP_W], now);
            if (tr_xfer_valid[2])
                $fwrite(trace_fd, "%0d store_output %0d %0d %0d %0d\n", owner, tr_xfer_tile[2*IDX_W +: IDX_W],
                        tr_xfer_part[2], tr_xfer_start[2*STAMP_W +: STAMP_W], now);
            if (accept && log_requests != 0)
                $fwrite(trace_fd, "%0d request %0d %0d %0d %0d\n", layer, m_req_write, m_req_beats, now,
                        m_req_offset);
            if (tr_pe_valid)   // a tile of the running layer (a layer's last tile ends before its last store)
                $fwrite(trace_fd, "%0d %0s %0d 0 %0d %0d\n", owner, (field(MODE_FIELD) == 0) ? "compute" : "vector",
                        tr_pe_tile, tr_pe_start, now);
            if (layer_start) begin
                started <= 1'b1;
                pending_start <= 1'b0;
                layer_begin <= now;
            end
            if (layer_ending) begin
                $fwrite(trace_fd, "%0d layer -1 0 %0d %0d\n", layer, layer_begin, now + 1);
                layer <= layer + 1;
                pending_start <= 1'b1;
            end
            if (err_underrun) begin
                $fwrite(trace_fd, "%0d error 0 0 %0d %0d\n", layer, now, now);
                finish_run();
            end
            if (started && layer >= desc[0] && !busy) finish_run();
            if (now >= max_cycles) begin
                $fwrite(trace_fd, "%0d timeout 0 0 %0d %0d\n", layer, now, now);
                finish_run();
            end
        end
    end

    task finish_run;
        begin
            if ($value$plusargs("dump=%s", path) && dump_bytes > 0) $writememh(path, ddr, 0, dump_bytes - 1);
            $fclose(trace_fd);
            $finish;
        end
    endtask
endmodule
