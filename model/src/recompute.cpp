#include "recompute.h"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/autograd.h>
#include <torch/csrc/autograd/custom_function.h>

namespace uio::model {

namespace {

struct PieceHolder : torch::CustomClassHolder {
    Piece piece;
    size_t n_inputs = 0;
};

struct Recompute : torch::autograd::Function<Recompute> {
    // `all` = inputs then parameters; autograd sees one edge per tensor of it.
    static at::Tensor forward(torch::autograd::AutogradContext* ctx, const c10::intrusive_ptr<PieceHolder>& holder,
                              at::TensorList all) {
        ctx->saved_data["piece"] = c10::IValue::make_capsule(holder);
        ctx->save_for_backward(all.vec());
        return holder->piece({all.begin(), all.begin() + static_cast<std::ptrdiff_t>(holder->n_inputs)});
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                   torch::autograd::variable_list grad_outputs) {
        const auto holder = c10::static_intrusive_pointer_cast<PieceHolder>(ctx->saved_data["piece"].toCapsule());
        const auto all = ctx->get_saved_variables();
        std::vector<at::Tensor> inputs, wrt;
        std::vector<size_t> wrt_index;
        for (size_t i = 0; i < all.size(); ++i) {
            // Inputs become fresh leaves of the rebuilt graph; parameters stay themselves.
            const bool is_input = i < holder->n_inputs;
            const at::Tensor x = is_input ? all[i].detach().requires_grad_(all[i].requires_grad()) : all[i];
            if (is_input)
                inputs.push_back(x);
            if (x.requires_grad()) {
                wrt.push_back(x);
                wrt_index.push_back(i);
            }
        }
        at::Tensor output;
        {
            torch::autograd::AutoGradMode enabled(true);
            output = holder->piece(inputs);
        }
        // torch::autograd::grad, not backward: the gradients go back through this node, so hooks
        // and accumulation outside see them as from any other operation.
        const auto grads = torch::autograd::grad({output}, wrt, {grad_outputs.at(0)}, false, false, true);
        torch::autograd::variable_list result(1 + all.size());  // slot 0: the holder
        for (size_t j = 0; j < wrt.size(); ++j) {
            result[1 + wrt_index[j]] = grads[j];
        }
        return result;
    }
};

}  // namespace

at::Tensor recompute_in_backward(Piece piece, const std::vector<at::Tensor>& inputs,
                                 const std::vector<at::Tensor>& parameters) {
    auto holder = c10::make_intrusive<PieceHolder>();
    holder->piece = std::move(piece);
    holder->n_inputs = inputs.size();
    std::vector<at::Tensor> all = inputs;
    all.insert(all.end(), parameters.begin(), parameters.end());
    return Recompute::apply(holder, at::TensorList(all));
}

}  // namespace uio::model
