// Verilator harness: toggles the clock of the model (prefix Vmodel, one input clk) until it calls $finish.
#include <memory>

#include "Vmodel.h"
#include "verilated.h"

int main(int argc, char** argv) {
    const std::unique_ptr<VerilatedContext> context{new VerilatedContext};
    context->commandArgs(argc, argv);
    const std::unique_ptr<Vmodel> top{new Vmodel{context.get()}};
    top->clk = 0;
    while (!context->gotFinish()) {
        top->clk = !top->clk;
        top->eval();
    }
    top->final();
    return 0;
}
