// zeroclip.h - the whole public API: include this one header.
//
//   auto clip = zeroclip::Clip::open("models/clip-vit-base-patch32");
//   auto weights = zeroclip::class_weights(clip, {"cat", "dog"}, {zeroclip::kDefaultTemplate});
//   auto image = zeroclip::read_image("cat.jpg");
//   auto embeds = clip.embed_images({image});
//   zeroclip::l2_normalize_rows(embeds);
//   auto probs = zeroclip::zero_shot_probabilities(embeds, weights, clip.logit_scale());
#pragma once

#include "zeroclip/batcher.h"
#include "zeroclip/clip.h"
#include "zeroclip/config.h"
#include "zeroclip/error.h"
#include "zeroclip/eval.h"
#include "zeroclip/evaluate.h"
#include "zeroclip/hub.h"
#include "zeroclip/image.h"
#include "zeroclip/image_batches.h"
#include "zeroclip/index.h"
#include "zeroclip/model.h"
#include "zeroclip/pipelines.h"
#include "zeroclip/preprocess.h"
#include "zeroclip/server.h"
#include "zeroclip/tokenizer.h"
#include "zeroclip/zeroshot.h"

namespace zeroclip {
inline constexpr const char* kVersion = ZEROCLIP_VERSION;
}
