package dev.kiln.diffusion.train;

import java.util.Locale;

/**
 * sd-scripts' loss options ({@code train_util.conditional_loss}, {@code train_network.post_process_loss}).
 *
 * @param lossType                    {@code --loss_type}: l2 (default), l1, huber, smooth_l1
 * @param huberSchedule               {@code --huber_schedule}: snr (default), exponential, constant
 * @param huberC                      {@code --huber_c} (0.1)
 * @param huberScale                  {@code --huber_scale} (1.0)
 * @param minSnrGamma                 {@code --min_snr_gamma} or null
 * @param scaleVPredLossLikeNoisePred {@code --scale_v_pred_loss_like_noise_pred} (needs v-parameterization)
 * @param vPredLikeLoss               {@code --v_pred_like_loss} or null (not with v-parameterization)
 * @param debiasedEstimation          {@code --debiased_estimation_loss}
 * @param vParameterization           the model predicts v
 * @param priorLossWeight             {@code --prior_loss_weight}: weight of regularization samples (1.0)
 */
public record LossOptions(String lossType, String huberSchedule, double huberC, double huberScale, Double minSnrGamma,
                          boolean scaleVPredLossLikeNoisePred, Double vPredLikeLoss, boolean debiasedEstimation,
                          boolean vParameterization, double priorLossWeight) {

    /** Plain MSE on ε, as the golden training step. */
    public static final LossOptions DEFAULT = new LossOptions("l2", "snr", 0.1, 1.0, null, false, null, false, false, 1.0);

    public LossOptions {
        lossType = lossType == null ? "l2" : lossType.toLowerCase(Locale.ROOT);
        huberSchedule = huberSchedule == null ? "snr" : huberSchedule.toLowerCase(Locale.ROOT);
        if (!java.util.List.of("l2", "l1", "huber", "smooth_l1").contains(lossType)) {
            throw new IllegalArgumentException("loss_type '" + lossType + "' is not one of l2, l1, huber, smooth_l1");
        }
        if (!java.util.List.of("snr", "exponential", "constant").contains(huberSchedule)) {
            throw new IllegalArgumentException("huber_schedule '" + huberSchedule
                    + "' is not one of snr, exponential, constant");
        }
        if (scaleVPredLossLikeNoisePred && !vParameterization) {
            throw new IllegalArgumentException("scale_v_pred_loss_like_noise_pred needs v_parameterization");
        }
        if (vPredLikeLoss != null && vPredLikeLoss != 0 && vParameterization) {
            throw new IllegalArgumentException("v_pred_like_loss cannot be used with v_parameterization");
        }
        if (minSnrGamma != null && minSnrGamma == 0) {
            minSnrGamma = null; // sd-scripts tests `if args.min_snr_gamma:`
        }
        if (vPredLikeLoss != null && vPredLikeLoss == 0) {
            vPredLikeLoss = null;
        }
    }

    /** Whether the element-wise loss needs a per-sample Huber threshold. */
    public boolean usesHuber() {
        return lossType.equals("huber") || lossType.equals("smooth_l1");
    }
}
