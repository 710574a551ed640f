"""The 18 face regions PASL locates, with training phrasings and unseen evaluation paraphrases.

`TRAIN_PROMPTS[name]` holds the phrasings the trainer samples from (the first round's list plus the
second and third rounds' additions); `UNSEEN_PROMPTS[name]` holds paraphrases that never appear in
training and only serve the held-out evaluation; `CHECK_PROMPTS` is a second, smaller held-out list.
The lists are disjoint, and the additions bring in none of the held-out lists' words (both checked by
tests). Order of `REGIONS` is the channel order of the dataset's mask arrays.
"""

from __future__ import annotations

REGIONS: tuple[str, ...] = (
    "beard", "face shape", "chin", "skin", "hair", "hairline", "forehead", "mouth", "lips",
    "nose", "eyebrows", "under-eye", "pupils", "eyes", "makeup", "cheeks", "expression",
    "eyeglasses",
)

_FIRST_PROMPTS: dict[str, tuple[str, ...]] = {
    "beard": (
        "beard", "the beard", "his beard", "facial hair", "add a beard", "a thick beard",
        "stubble on the jaw", "a full beard", "grow a beard", "the bearded lower face",
        "make the beard longer",
    ),
    "face shape": (
        "face shape", "the shape of the face", "face outline", "the face contour", "slimmer face",
        "make the face rounder", "the jawline and face shape", "face silhouette", "the whole face",
        "change the face shape", "a narrower face",
    ),
    "chin": (
        "chin", "the chin", "her chin", "his chin", "a pointed chin", "make the chin smaller",
        "the tip of the chin", "a stronger chin", "the area below the lips", "a dimpled chin",
        "a rounder chin",
    ),
    "skin": (
        "skin", "the skin", "facial skin", "skin tone", "smooth skin", "make the skin darker",
        "skin texture", "the complexion", "tanned skin", "paler skin", "wrinkled skin",
    ),
    "hair": (
        "hair", "the hair", "her hair", "his hair", "hairstyle", "make the hair blonde",
        "curly hair", "long hair", "the haircut", "red hair", "change the hair color",
    ),
    "hairline": (
        "hairline", "the hairline", "a receding hairline", "the edge of the hair on the forehead",
        "lower the hairline", "the hair line", "a widow's peak", "where the hair starts",
        "a higher hairline", "the border between hair and forehead", "the front hairline",
    ),
    "forehead": (
        "forehead", "the forehead", "her forehead", "his forehead", "a wrinkled forehead",
        "a big forehead", "the brow area above the eyebrows", "make the forehead smaller",
        "forehead wrinkles", "the upper face", "a smooth forehead",
    ),
    "mouth": (
        "mouth", "the mouth", "her mouth", "his mouth", "an open mouth", "make the mouth wider",
        "a smiling mouth", "the mouth area", "a closed mouth", "the lips and mouth corners",
        "a small mouth",
    ),
    "lips": (
        "lips", "the lips", "her lips", "red lips", "fuller lips", "thin lips", "lipstick",
        "make the lips pink", "the upper and lower lip", "plump lips", "dark lipstick",
    ),
    "nose": (
        "nose", "the nose", "her nose", "his nose", "a smaller nose", "a pointed nose",
        "make the nose thinner", "the bridge of the nose", "a big nose", "a straight nose",
        "the nostrils",
    ),
    "eyebrows": (
        "eyebrows", "the eyebrows", "her eyebrows", "thick eyebrows", "thin eyebrows",
        "arched eyebrows", "make the eyebrows darker", "bushy brows", "the brows", "eyebrow",
        "raised eyebrows",
    ),
    "under-eye": (
        "under-eye", "under the eyes", "dark circles", "eye bags", "bags under the eyes",
        "the under-eye area", "puffy under-eyes", "remove the dark circles", "tear troughs",
        "the skin below the eyes", "under eye",
    ),
    "pupils": (
        "pupils", "the pupils", "eye color", "blue eyes", "the irises", "iris", "green eyes",
        "brown eyes", "make the eyes blue", "the pupil", "eye colour",
    ),
    "eyes": (
        "eyes", "the eyes", "her eyes", "his eyes", "bigger eyes", "closed eyes", "narrow eyes",
        "make the eyes larger", "both eyes", "almond shaped eyes", "wide open eyes",
    ),
    "makeup": (
        "makeup", "make-up", "heavy makeup", "eye shadow", "eyeshadow and lipstick",
        "apply makeup", "smoky eyes", "natural makeup", "glamorous makeup", "cosmetics",
        "makeup on the eyes and lips",
    ),
    "cheeks": (
        "cheeks", "the cheeks", "her cheeks", "rosy cheeks", "chubby cheeks", "blush",
        "hollow cheeks", "make the cheeks fuller", "cheekbones", "high cheekbones", "the cheek",
    ),
    "expression": (
        "expression", "facial expression", "smile", "make her smile", "a happy expression",
        "an angry face", "a sad expression", "surprised", "make him laugh", "frowning",
        "change the expression",
    ),
    "eyeglasses": (
        "eyeglasses", "glasses", "add glasses", "wearing glasses", "spectacles",
        "sunglasses", "reading glasses", "round glasses", "black rimmed glasses",
        "remove the glasses", "eyewear",
    ),
}

# Added in the second training round: everyday edit wordings (subjects, colours, styles) so that the
# projector sees a wider neighbourhood of each region in text space. Rule, checked by a test: no word
# of these may occur in UNSEEN_PROMPTS unless the first-round phrasings above already used it, so the
# unseen paraphrases stay unseen in vocabulary too. Synonyms aimed at particular unseen words were not added.
_MORE_PROMPTS: dict[str, tuple[str, ...]] = {
    "beard": (
        "a man with a beard", "a long beard", "a short trimmed beard", "a white beard", "a black beard",
        "a red beard", "a scruffy beard", "stubble", "an unshaven jaw", "a moustache and beard",
        "a mustache", "shave the beard off", "a bearded man", "thick facial hair", "a neatly groomed beard",
        "the moustache", "a handlebar moustache", "beard stubble", "a braided beard", "a viking beard",
    ),
    "face shape": (
        "a round face", "a long face", "a heart shaped face", "a wide face", "a thin face", "a chubby face",
        "an angular face", "a diamond shaped face", "the contour of the face", "the entire face",
        "a slim face", "a v-shaped face", "make the face wider", "a fuller face", "the shape of her face",
        "his face shape", "a broad face", "a chiseled face", "face proportions", "a skinny face",
    ),
    "chin": (
        "a small chin", "a weak chin", "a prominent chin", "a receding chin", "a protruding chin",
        "a chin dimple", "the chin area", "a long chin", "a short chin", "a wide chin", "a narrow chin",
        "a sharp chin", "reshape the chin", "give him a stronger chin", "the front of the jaw",
        "the chin below the mouth", "a woman with a small chin", "a man with a strong chin",
    ),
    "skin": (
        "clear skin", "flawless skin", "oily skin", "dry skin", "acne", "pimples", "blemishes",
        "smoother skin", "aged skin", "youthful skin", "a sunburn", "sun-kissed skin", "fair skin",
        "olive skin", "dark skin", "porcelain skin", "rough skin", "the skin of the face", "skin colour",
        "skin color", "remove the blemishes", "a woman with smooth skin",
    ),
    "hair": (
        "blonde hair", "brown hair", "black hair", "short hair", "straight hair", "a ponytail", "bangs",
        "a fringe", "a hairdo", "braids", "hair colour", "silver hair", "white hair", "pink hair",
        "a perm", "messy hair", "shiny hair", "an afro", "a bun", "a pixie haircut",
        "shoulder length hair", "a woman with long hair", "a man with short hair", "thick hair",
        "frizzy hair", "slicked back hair", "the strands of hair",
    ),
    "hairline": (
        "the hairline at the forehead", "a straight hairline", "a rounded hairline", "a low hairline",
        "a thinning hairline", "fix the receding hairline", "the edge of the scalp", "hairline recession",
        "the line where the hair begins", "baby hairs along the hairline", "an m-shaped hairline",
        "restore the hairline", "a man with a receding hairline", "a hairline transplant",
        "the hair edge above the forehead",
    ),
    "forehead": (
        "a wide forehead", "a narrow forehead", "a shiny forehead", "a tall forehead",
        "a sweaty forehead", "wrinkles on the forehead", "a furrowed forehead", "the area above the eyebrows",
        "a smaller forehead", "a larger forehead", "remove the forehead wrinkles", "a bindi on the forehead",
        "a tattoo on the forehead", "a scar on the forehead", "the middle of the forehead",
        "smooth the forehead", "a woman with a big forehead",
    ),
    "mouth": (
        "a big smile with teeth", "teeth", "the teeth", "show the teeth", "a toothy smile",
        "a slightly open mouth", "close the mouth", "a frowning mouth", "the mouth corners", "mouth shape",
        "a narrow mouth", "a bigger mouth", "a smaller mouth", "a laughing mouth", "a mouth open in shock",
        "the area around the mouth", "a lopsided smile", "a man with his mouth open",
    ),
    "lips": (
        "pink lips", "lip shape", "a fuller upper lip", "the lower lip", "thinner lips", "nude lipstick",
        "purple lipstick", "red lipstick", "a woman with red lipstick", "bright red lips", "chapped lips",
        "matte lipstick", "lip tint", "bigger lips", "lip filler", "cherry lips", "dark red lips",
        "berry lipstick", "coral lips",
    ),
    "nose": (
        "a long nose", "a short nose", "a crooked nose", "a thin nose", "the tip of the nose",
        "a roman nose", "an upturned nose", "a flat nose", "a broader nose", "nose shape", "reshape the nose",
        "a nose ring", "a nose piercing", "a red nose", "the nostril area", "a narrower nose", "a sharp nose",
        "a man with a big nose",
    ),
    "eyebrows": (
        "the eyebrow shape", "darker eyebrows", "blonde eyebrows", "straight eyebrows", "fuller eyebrows",
        "shaped eyebrows", "groomed brows", "thicker brows", "thinner brows", "an eyebrow piercing",
        "eyebrow hair", "microbladed eyebrows", "bleached eyebrows", "low eyebrows", "high arched brows",
        "angry eyebrows", "a woman with thin eyebrows", "the left and right eyebrows",
    ),
    "under-eye": (
        "concealer under the eyes", "wrinkles under the eyes", "swollen under-eyes",
        "dark shadows under the eyes", "brighten the under-eye area", "fix the eye bags",
        "remove the bags under her eyes", "hollow under-eyes", "the skin under each eye",
        "under-eye wrinkles", "dark under-eye skin", "heavy bags under his eyes",
        "the area just below the eyes",
    ),
    "pupils": (
        "amber eyes", "violet eyes", "light blue eyes", "dark brown irises", "cat-like pupils",
        "eyes with golden irises", "black pupils", "small pupils", "large pupils", "the iris and pupil",
        "purple eyes", "make her eyes green", "bright blue irises", "ice blue eyes", "red irises",
        "a woman with green eyes", "heterochromia",
    ),
    "eyes": (
        "big eyes", "small eyes", "smiling eyes", "half closed eyes", "squinting eyes", "the eye shape",
        "upturned eyes", "round eyes", "droopy eyes", "crossed eyes", "the eye area", "sparkling eyes",
        "bright eyes", "deep set eyes", "monolid eyes", "eyelashes", "long eyelashes",
        "make the eyes smaller", "a woman with big eyes",
    ),
    "makeup": (
        "full makeup", "no makeup", "remove the makeup", "bold makeup", "stage makeup", "party makeup",
        "bridal makeup", "goth makeup", "foundation and blush", "eyeliner and lipstick", "winged eyeliner",
        "glitter makeup", "clown makeup", "face makeup", "light makeup", "dramatic makeup",
        "wearing makeup", "a woman wearing makeup",
    ),
    "cheeks": (
        "pink cheeks", "red cheeks", "blushing cheeks", "rouge", "dimples", "fuller cheeks",
        "slimmer cheeks", "sculpted cheekbones", "contoured cheekbones", "puffy cheeks",
        "blush on the cheeks", "the left and right cheeks", "plump cheeks", "round cheeks",
        "defined cheekbones", "a woman with rosy cheeks",
    ),
    "expression": (
        "a big smile", "laughing", "crying", "a serious expression", "a calm expression", "a scared face",
        "a shocked expression", "a disgusted face", "a smirk", "a confused expression", "a joyful face",
        "a frown", "a worried expression", "a cheerful expression", "an excited face", "a grumpy face",
        "emotion", "a stern face", "a playful expression", "make the man smile",
    ),
    "eyeglasses": (
        "a man wearing glasses", "a woman with glasses", "thick framed glasses", "aviator sunglasses",
        "thin metal glasses", "rimless glasses", "cat eye glasses", "oversized glasses",
        "gold rimmed glasses", "tinted glasses", "glasses frames", "the glasses", "eyeglass frames",
        "prescription glasses", "shades", "nerdy glasses", "wire frame glasses",
    ),
}

# Added in the third training round: whole edit sentences and instructions, the way prompts are typed in
# ComfyUI. Same rule, now also against CHECK_PROMPTS (below): no word of either held-out list unless an
# earlier round already used it (checked by a test).
_THIRD_PROMPTS: dict[str, tuple[str, ...]] = {
    "beard": (
        "give him a beard", "trim the beard", "turn the beard white",
        "a portrait of a man with a full beard", "remove his facial hair", "a rugged man with stubble",
        "the hair on his jaw and upper lip", "a well kept beard", "make his beard thicker",
        "a man with a dark beard", "an old man with a long white beard", "his unshaven face",
    ),
    "face shape": (
        "make her face slimmer", "give him a rounder face", "the outline of her face",
        "a woman with a narrow face", "a man with a broad face", "change the contour of the face",
        "reshape the face", "a face with a strong jawline", "make the face longer",
        "a portrait with a slim face", "the form of the face", "a heart-shaped face",
    ),
    "chin": (
        "give her a smaller chin", "make his chin stronger", "a man with a prominent chin",
        "reshape his chin", "a woman with a pointed chin", "the area under the lower lip",
        "the lowest region of the face", "shorten the chin", "a chin with a dimple", "the tip of his chin",
        "lengthen the chin", "her little chin",
    ),
    "skin": (
        "give her smoother skin", "make his skin tanned", "a woman with clear skin", "retouch the skin",
        "the skin on her face", "even the skin tone", "a man with rough skin", "remove the acne",
        "a portrait with soft skin", "make the complexion darker", "reduce the wrinkles on the skin",
        "healthy skin",
    ),
    "hair": (
        "give her blonde hair", "make his hair black", "a woman with curly red hair",
        "turn the hair silver", "a man with a short haircut", "change her hairstyle",
        "make the hair longer", "the hair around her face", "a portrait of a woman with braids",
        "a new hair color", "shorter hair", "give him long hair", "the hairstyle of the man",
    ),
    "hairline": (
        "bring the hairline down", "give him a fuller hairline", "a man whose hairline is receding",
        "the hairline above his forehead", "raise the hairline", "the start of the hair above the forehead",
        "a woman with a high hairline", "a neater hairline", "his hairline", "her hairline",
        "a thinning front hairline",
    ),
    "forehead": (
        "make her forehead smaller", "remove the wrinkles on his forehead", "a man with a high forehead",
        "the skin of the forehead", "a woman with a smooth forehead", "his wide forehead",
        "shrink the forehead", "a forehead with wrinkles", "the area between the hairline and the eyebrows",
        "a red mark on the forehead", "the forehead above the eyes",
    ),
    "mouth": (
        "make her mouth smaller", "make him open his mouth", "a woman with a wide smile", "close his mouth",
        "a man with his mouth closed", "show her teeth", "the mouth of the woman",
        "give him a bigger mouth", "a mouth full of teeth", "an open mouth showing teeth",
        "her smiling mouth", "the man's mouth",
    ),
    "lips": (
        "give her red lips", "make her lips fuller", "a woman with pink lipstick",
        "apply lipstick to her lips", "make the lips thinner", "her full lips", "his thin lips",
        "a woman wearing dark lipstick", "change the lipstick color", "lips with red lipstick",
        "natural lips", "the lips of the woman",
    ),
    "nose": (
        "make her nose smaller", "give him a straight nose", "a woman with a small nose",
        "a man with a long nose", "narrow the nose", "make the nose shorter", "the man's nose",
        "the nose of the woman", "a portrait with a big nose", "change the shape of the nose",
        "the nostrils and the tip of the nose", "a thinner nose bridge",
    ),
    "eyebrows": (
        "make her eyebrows thicker", "give him bushy eyebrows", "a woman with arched eyebrows",
        "shape the eyebrows", "make the eyebrows thinner", "his eyebrows", "her eyebrows raised",
        "darken the eyebrows", "the hair above the eyes", "a man with thick dark eyebrows",
        "the eyebrows of the woman", "straighten the eyebrows",
    ),
    "under-eye": (
        "remove the dark circles under her eyes", "reduce the bags under his eyes",
        "a man with puffy under-eyes", "brighten the skin under the eyes", "the area under her eyes",
        "his under-eye bags", "a woman with dark circles", "smooth the skin below the eyes",
        "remove the eye bags", "the under-eye region",
    ),
    "pupils": (
        "give her blue eyes", "make his eyes green", "a woman with brown eyes",
        "change the eye color to blue", "a man with light eyes", "the color of her eyes",
        "make the irises darker", "his pupils", "bright green irises", "a portrait with blue eyes",
        "golden eyes", "the irises of the woman",
    ),
    "eyes": (
        "make her eyes bigger", "close his eyes", "a woman with large eyes", "a man with narrow eyes",
        "make the eyes rounder", "the woman's eyes", "his eyes closed", "the eyes of the woman",
        "give her bright eyes", "a portrait with wide eyes", "make the eyes more open", "half open eyes",
    ),
    "makeup": (
        "give her makeup", "remove her makeup", "a woman wearing heavy makeup",
        "add eyeshadow and lipstick", "a woman with smoky eye makeup", "apply natural makeup",
        "a portrait with glamorous makeup", "make her makeup more subtle", "dramatic eye makeup",
        "her makeup", "a woman with bold eyeliner", "makeup on her face",
    ),
    "cheeks": (
        "make her cheeks rosy", "give him fuller cheeks", "a woman with high cheekbones",
        "add blush to her cheeks", "make the cheeks thinner", "his cheeks", "the woman's cheeks",
        "a man with hollow cheeks", "the cheeks of the woman", "pink blush on the cheeks",
        "a portrait with chubby cheeks", "raise the cheekbones",
    ),
    "expression": (
        "make the woman smile", "make him frown", "a woman with a happy expression",
        "a man with an angry expression", "give her a surprised expression", "make him sad",
        "make her laugh", "a serious man", "a smiling woman", "change his expression to happy",
        "a woman with a sad face", "a surprised man",
    ),
    "eyeglasses": (
        "give her glasses", "remove his glasses", "a woman wearing round glasses",
        "a man with black glasses", "add sunglasses", "take off the glasses", "his glasses", "her glasses",
        "a portrait with reading glasses", "glasses on his face", "a woman in sunglasses",
        "thin framed glasses",
    ),
}

TRAIN_PROMPTS: dict[str, tuple[str, ...]] = {
    r: _FIRST_PROMPTS[r] + _MORE_PROMPTS[r] + _THIRD_PROMPTS[r] for r in REGIONS
}

UNSEEN_PROMPTS: dict[str, tuple[str, ...]] = {
    "beard": ("whiskers", "a goatee", "a bushy beard on the jaw", "hair growing on the chin and jaw",
              "a five o'clock shadow"),
    "face shape": ("the facial structure", "a square face", "an oval face", "the overall head shape",
                   "make the face thinner"),
    "chin": ("the point of the jaw", "a cleft chin", "a double chin", "the bottom of the face",
             "jut the chin out"),
    "skin": ("the epidermis of the face", "complexion tone", "a freckled complexion", "glowing skin",
             "make the skin lighter"),
    "hair": ("the locks", "a bob cut", "wavy locks", "dye the hair black", "the mane"),
    "hairline": ("the top edge of the forehead where hair grows", "a balding hairline",
                 "the hair margin", "move the hair boundary up", "the frontal hair border"),
    "forehead": ("the brow", "the temple area", "a high brow", "lines across the forehead",
                 "the space between eyebrows and hair"),
    "mouth": ("the oral area", "a grin", "a pouting mouth", "open the mouth", "a wide mouth"),
    "lips": ("the lip line", "glossy lips", "a pout", "pale lips", "lip colour"),
    "nose": ("the snout", "a hooked nose", "a button nose", "the nasal bridge", "a wide nose"),
    "eyebrows": ("the arches above the eyes", "a unibrow", "plucked brows", "sparse eyebrows",
                 "lift the brows"),
    "under-eye": ("the area beneath the eyes", "puffiness below the eyes", "under-eye circles",
                  "sunken eye sockets", "tired looking eyes"),
    "pupils": ("the coloured part of the eyes", "hazel eyes", "grey irises", "dilated pupils",
               "change the iris colour"),
    "eyes": ("the eyelids", "sleepy eyes", "the gaze", "a wink", "open the eyes"),
    "makeup": ("mascara and lipstick", "a made-up face", "colourful eye make-up", "cosmetic paint",
               "evening makeup"),
    "cheeks": ("the sides of the face", "flushed cheeks", "apple cheeks", "sunken cheeks",
               "the cheek area"),
    "expression": ("a grin on the face", "a look of surprise", "make the person look angry",
                   "a neutral face", "the mood of the face"),
    "eyeglasses": ("specs", "a pair of glasses", "goggles", "horn rimmed spectacles",
                   "put on sunglasses"),
}

# A second held-out list: 3 rare paraphrases per region, written during the round-2 recipe probes (after the
# round-2 additions, before round-2 training), never trained on; later additions may not use its words.
# It checks that gains in wording generalisation are not specific to UNSEEN_PROMPTS.
CHECK_PROMPTS: dict[str, tuple[str, ...]] = {
    "beard": ("a chin curtain", "bristles on his face", "mutton chops"),
    "face shape": ("the visage outline", "a moon face", "the physiognomy"),
    "chin": ("the mentum", "a lantern jaw", "the tip of the jawbone"),
    "skin": ("the dermis", "pores", "the hide"),
    "hair": ("tresses", "the coiffure", "ringlets"),
    "hairline": ("the hair frontier", "a retreating hairline", "the crown edge"),
    "forehead": ("the brow ridge area", "the frons", "a lofty forehead"),
    "mouth": ("the kisser", "the gob", "a gaping mouth"),
    "lips": ("a smacker", "rouge on the lips", "a lip pucker"),
    "nose": ("the schnozz", "the beak", "an aquiline nose"),
    "eyebrows": ("the supercilia", "a monobrow", "heavy brows"),
    "under-eye": ("the orbital hollows", "panda eyes", "baggy eyes"),
    "pupils": ("the eye's aperture", "irises of emerald", "the black dot of the eye"),
    "eyes": ("the peepers", "the eyeballs", "a squint"),
    "makeup": ("warpaint", "a painted face", "blusher and eyeliner"),
    "cheeks": ("the jowls", "the malar area", "dimpled cheeks"),
    "expression": ("a scowl", "a beaming face", "a pensive face"),
    "eyeglasses": ("bifocals", "lenses on the nose", "pince-nez"),
}
