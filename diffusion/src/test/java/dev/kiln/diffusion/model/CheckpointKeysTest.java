package dev.kiln.diffusion.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;

class CheckpointKeysTest {

    @Test
    void openClipViTHKeepsTwentyThreeLayersAndSplitsInProjections() {
        List<String> keys = new ArrayList<>(List.of("cond_stage_model.model.token_embedding.weight",
                "cond_stage_model.model.positional_embedding", "cond_stage_model.model.ln_final.weight",
                "cond_stage_model.model.text_projection", "cond_stage_model.model.logit_scale"));
        for (int i = 0; i < 24; i++) {
            keys.add("cond_stage_model.model.transformer.resblocks." + i + ".attn.in_proj_weight");
            keys.add("cond_stage_model.model.transformer.resblocks." + i + ".mlp.c_fc.weight");
        }
        List<CheckpointKeys.Entry> plan = CheckpointKeys.openClipTextEncoder(keys);
        assertTrue(plan.stream().noneMatch(e -> e.source().contains("resblocks.23.")), "layer 23 is dropped");
        assertTrue(plan.stream().noneMatch(e -> e.source().endsWith("text_projection")));
        assertTrue(plan.contains(new CheckpointKeys.Entry("text_model.encoder.layers.22.self_attn.v_proj.weight",
                "cond_stage_model.model.transformer.resblocks.22.attn.in_proj_weight",
                CheckpointKeys.Transform.THIRD_2)));
        assertTrue(plan.contains(new CheckpointKeys.Entry("text_model.encoder.layers.0.mlp.fc1.weight",
                "cond_stage_model.model.transformer.resblocks.0.mlp.c_fc.weight", CheckpointKeys.Transform.COPY)));
        assertTrue(plan.contains(new CheckpointKeys.Entry("text_model.embeddings.position_embedding.weight",
                "cond_stage_model.model.positional_embedding", CheckpointKeys.Transform.COPY)));
        // 23 layers x (3 projections + fc1) + token, position, final norm
        assertEquals(23 * 4 + 3, plan.size());
    }

    @Test
    void unetBlocksFollowTheirDownsamplersAndUpsamplers() {
        String p = "model.diffusion_model.";
        List<String> keys = List.of(p + "input_blocks.0.0.weight", p + "input_blocks.1.0.in_layers.2.weight",
                p + "input_blocks.1.1.proj_in.weight", p + "input_blocks.2.0.op.weight",
                p + "input_blocks.3.0.skip_connection.weight", p + "output_blocks.0.0.in_layers.0.weight",
                p + "output_blocks.1.0.emb_layers.1.weight", p + "output_blocks.1.1.conv.weight",
                p + "output_blocks.2.0.out_layers.3.weight", p + "output_blocks.2.1.transformer_blocks.0.attn1.to_q.weight",
                p + "middle_block.1.norm.weight", p + "time_embed.2.bias", p + "out.2.weight");
        List<String> targets = CheckpointKeys.unet(keys).stream().map(CheckpointKeys.Entry::target).toList();
        assertEquals(new TreeSet<>(List.of("conv_in.weight", "down_blocks.0.resnets.0.conv1.weight",
                "down_blocks.0.attentions.0.proj_in.weight", "down_blocks.0.downsamplers.0.conv.weight",
                "down_blocks.1.resnets.0.conv_shortcut.weight", "mid_block.attentions.0.norm.weight",
                "conv_out.weight", "up_blocks.0.resnets.0.norm1.weight", "up_blocks.0.resnets.1.time_emb_proj.weight",
                "up_blocks.0.upsamplers.0.conv.weight", "up_blocks.1.resnets.0.conv2.weight",
                "up_blocks.1.attentions.0.transformer_blocks.0.attn1.to_q.weight", "time_embedding.linear_2.bias")),
                new TreeSet<>(targets));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> CheckpointKeys.unet(List.of(p + "label_emb.0.0.weight")));
        assertTrue(e.getMessage().contains("label_emb"), e.getMessage());
    }

    @Test
    void vaeDecoderBlocksAreReversedAndAttentionConvsSqueezed() {
        String p = "first_stage_model.";
        List<CheckpointKeys.Entry> plan = CheckpointKeys.vae(List.of(p + "decoder.up.0.block.1.nin_shortcut.weight",
                p + "decoder.up.2.upsample.conv.weight", p + "encoder.mid.attn_1.proj_out.weight",
                p + "encoder.mid.attn_1.norm.bias", p + "encoder.down.1.downsample.conv.bias"));
        List<String> targets = plan.stream().map(CheckpointKeys.Entry::target).toList();
        assertTrue(targets.contains("decoder.up_blocks.2.resnets.1.conv_shortcut.weight"), targets.toString());
        assertTrue(targets.contains("decoder.up_blocks.0.upsamplers.0.conv.weight"), targets.toString());
        assertTrue(targets.contains("encoder.down_blocks.1.downsamplers.0.conv.bias"), targets.toString());
        assertTrue(plan.contains(new CheckpointKeys.Entry("encoder.mid_block.attentions.0.to_out.0.weight",
                p + "encoder.mid.attn_1.proj_out.weight", CheckpointKeys.Transform.SQUEEZE_1X1)));
        assertTrue(plan.contains(new CheckpointKeys.Entry("encoder.mid_block.attentions.0.group_norm.bias",
                p + "encoder.mid.attn_1.norm.bias", CheckpointKeys.Transform.COPY)));
    }
}
