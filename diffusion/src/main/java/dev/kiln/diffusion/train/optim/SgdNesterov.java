package dev.kiln.diffusion.train.optim;

import ai.djl.ndarray.NDArray;

import java.util.List;
import java.util.Map;

/**
 * sd-scripts' {@code SGDNesterov}: {@code torch.optim.SGD(nesterov=True)} with momentum defaulting to 0.9.
 * {@code g += wd·p}; {@code buf = g} on the first step, else {@code buf = μ·buf + g}; {@code p -= lr·(g + μ·buf)}.
 * Options: {@code momentum} 0.9, {@code weight_decay} 0 ({@code dampening} must stay 0 for Nesterov).
 */
public final class SgdNesterov extends StatefulOptimizer {

    private final double momentum;
    private final double weightDecay;

    public SgdNesterov(OptimizerArgs args) {
        super("torch.optim.sgd.SGD", args);
        this.momentum = args.number("momentum", 0.9);
        this.weightDecay = args.number("weight_decay", 0.0);
        if (args.number("dampening", 0.0) != 0 || momentum <= 0) {
            throw new IllegalArgumentException("SGDNesterov needs momentum > 0 and dampening 0");
        }
        args.rejectUnused("SGDNesterov");
    }

    @Override
    public void step(List<ParamGroup> groups, Map<String, NDArray> grads) {
        forEachParam(groups, grads, (group, name, p, grad) -> {
            NDArray g = weightDecay != 0 ? grad.add(p.mul((float) weightDecay)) : grad;
            NDArray buf;
            if (!hasSlot(name, "momentum_buffer")) {
                buf = slot(name, "momentum_buffer", p);
                buf.addi(g);
            } else {
                buf = slot(name, "momentum_buffer", p);
                buf.muli((float) momentum).addi(g);
            }
            p.subi(g.add(buf.mul((float) momentum)).muli((float) group.lr()));
        });
    }
}
