"""The 18 face regions PASL locates, with training phrasings and unseen evaluation paraphrases.

`TRAIN_PROMPTS[name]` holds the phrasings the trainer samples from; `UNSEEN_PROMPTS[name]` holds
paraphrases that never appear in training and only serve the held-out evaluation. The two lists are
disjoint (checked by tests). Order of `REGIONS` is the channel order of the dataset's mask arrays.
"""

from __future__ import annotations

REGIONS: tuple[str, ...] = (
    "beard", "face shape", "chin", "skin", "hair", "hairline", "forehead", "mouth", "lips",
    "nose", "eyebrows", "under-eye", "pupils", "eyes", "makeup", "cheeks", "expression",
    "eyeglasses",
)

TRAIN_PROMPTS: dict[str, tuple[str, ...]] = {
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
