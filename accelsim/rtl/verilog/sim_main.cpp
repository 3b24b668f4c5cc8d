// Verilator harness: toggles the clock of tb_harness until the testbench calls $finish.
#include <memory>

#include "Vtb_harness.h"
#include "verilated.h"

int main(int argc, char** argv) {
    const std::unique_ptr<VerilatedContext> context{new VerilatedContext};
    context->commandArgs(argc, argv);
    const std::unique_ptr<Vtb_harness> top{new Vtb_harness{context.get()}};
    top->clk = 0;
    while (!context->gotFinish()) {
        top->clk = !top->clk;
        top->eval();
    }
    top->final();
    return 0;
}
