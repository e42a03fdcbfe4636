"""Word tables of the SYNTHETIC shop in ``recgym.data.synthetic``: categories, brands, product types, shopper needs.

Every name is invented. The table is one readable text block, ``PRODUCT_TABLE``, so a reader sees side by side the
words products are described with and the words shoppers use:

``# Category: Brand, Brand, ...``
    starts a category and names its brands.
``Product Type | styles | sizes``
    the noun used in titles, the style/material words written before it, the size/variant options after it.
``+ features > complement types``
    selling points a title may list; after ``>``, types bought together with this one (sequential task).
``? need; need``
    what a shopper types who knows the problem but not the product: a use case, problem, recipient or occasion.
    Needs never use the type's name, so a raw need query rarely matches the right titles; mapping a need
    onto catalog vocabulary is the skill a query rewriter can learn.

An option written ``Catalog Words=everyday words`` appears in titles as the left side and in shopper queries as the
right side (``Stainless Steel=metal``); an option without ``=`` is said the same way by both.
"""

from __future__ import annotations

# Store labels sold in every category: a mention of one alone does not pin down a category.
HOUSE_BRANDS: tuple[str, ...] = ("Basicly", "Homewise")

# Colour names as titles write them = as shoppers say them.
COLOURS: tuple[str, ...] = (
    "Matte Black=black", "Arctic White=white", "Slate Gray=gray", "Navy Blue=navy", "Sky Blue=light blue",
    "Forest Green=dark green", "Sage Green=green", "Cherry Red=red", "Blush Pink=pink", "Sunflower Yellow=yellow",
    "Lavender=light purple", "Charcoal=dark grey", "Walnut Brown=brown", "Rose Gold",
)

# How a shopper attaches an attribute to a need; ``{}`` is the attribute as the shopper says it.
SLOT_PHRASES: dict[str, tuple[str, ...]] = {
    "brand": ("by {}", "from {}", "{} brand", "{}"),
    "colour": ("in {}", "{} one", "{}"),
    "style": ("{}",),
    "size": ("{}",),
    "feature": ("{}",),
}
JOINERS: tuple[str, ...] = (", ", ", ", " - ", ", preferably ", ", ideally ")

PRODUCT_TABLE = """
# Kitchen & Dining: Thermora, Brewline, Cucina Verde, Ironhaus, Kettleby, Oakrest
Travel Mug | Stainless Steel=metal, Ceramic, Bamboo=wooden | 12 oz=small, 16 oz, 20 oz=large
  + Leak-Proof Lid=won't leak, Double-Wall Insulated, Dishwasher Safe=easy to clean > French Press, Electric Kettle
  ? something to keep my coffee hot on the commute; a drink container that won't spill in my backpack
  ? keep tea warm all morning at my desk; gift for a coworker who drives to work early
French Press | Borosilicate Glass=glass, Stainless Steel=metal, Copper | 12 oz=small, 34 oz=large
  + 4-Level Filtration, Cool-Touch Handle, Dishwasher Safe=easy to clean > Coffee Grinder, Travel Mug
  ? brew strong coffee without a machine or paper filters; make cafe style coffee at home without pods
  ? plunger thing for making coffee for two; housewarming gift for a coffee snob
Coffee Grinder | Conical Burr=burr, Stainless Blade=blade, Hand-Crank=manual | 4 Cup=small, 12 Cup=large
  + 18 Grind Settings=adjustable coarseness, Quiet Motor=quiet, One-Touch Start > French Press, Travel Mug
  ? turn whole beans into fresh grounds every morning; my pre-ground beans taste stale
  ? crush beans fine enough for espresso; gift for someone just getting into pour over
Chef Knife | High-Carbon Steel, Damascus Steel=layered steel, Ceramic | 6 inch=small, 8 inch, 10 inch=long
  + Ergonomic Handle=comfortable grip, Razor Sharp Edge=really sharp, Full Tang, Gift Box > Cast Iron Skillet
  ? slice onions and tomatoes without squishing them; my old blade is dull and crushes bread
  ? one good blade for all my cooking prep; gift for a friend in culinary school
Cast Iron Skillet | Pre-Seasoned=ready to use, Enameled=coated, Lightweight | 8 inch=small, 10 inch, 12 inch=big
  + Oven Safe=can go in the oven, Pour Spouts, Silicone Handle Cover, Induction Ready > Chef Knife, Camp Stove
  ? sear a steak with a crispy crust at home; a pan that lasts forever and goes from stove to oven
  ? bake cornbread like grandma did; heavy pan for campfire cooking
Electric Kettle | Gooseneck=thin spout, Glass=see-through, Stainless Steel=metal | 1 Liter=small, 1.7 Liter=large
  + Variable Temperature=adjustable heat, Auto Shut-Off=turns off by itself, Keep Warm Mode > French Press, Travel Mug
  ? boil water fast for tea without using the stove; hot water for instant noodles in my dorm
  ? precise heat for brewing green tea; office tea station that heats up quickly
# Audio: Sonix, Auralis, Bassline, Echovale, Pulsewave, Quietude
Wireless Earbuds | Noise Cancelling=blocks out noise, Open-Ear=hear traffic, Sport | 6 Hour Battery, 10 Hour Battery
  + Wireless Charging Case, IPX7 Waterproof=sweatproof, Touch Controls, Bluetooth 5.3 > Portable Charger
  ? listen to music at the gym without cords; tiny things for my ears to take calls on the go
  ? replace my tangled wired buds for jogging; something for podcasts on the subway
Over-Ear Headphones | Noise Cancelling=blocks out noise, Studio Monitor=flat sound, Foldable | Wired, Wireless
  + Memory Foam Ear Cushions=comfortable, Built-In Mic, Bluetooth 5.3, Carrying Case > Turntable, Podcast Microphone
  ? block out the crying baby on a long flight; comfy cans for listening to records all evening
  ? focus in an open plan office that is too loud; gift for a teen who streams music all day
Bluetooth Speaker | Waterproof=can get wet, Rugged Outdoor=tough, Compact=pocket size | 10W=small, 20W, 40W=loud
  + 24 Hour Playtime=long battery, Built-In Mic, Stereo Pairing, Floats in Water=floats > Camping Tent, Wireless Earbuds
  ? play music at a pool party; tunes at the beach that survive sand and splashes
  ? portable sound for a backyard barbecue; gift for a friend who loves hiking and music
Soundbar | 2.1 Channel, 5.1 Channel Surround=surround sound, Dolby Atmos | 32 inch=small, 40 inch, 48 inch=wide
  + Wireless Subwoofer=deep bass, HDMI eARC, Dialogue Boost=clearer voices > Smart Plug, Bluetooth Speaker
  ? I can't hear what the actors say on my tv; make movie nights sound like a theater
  ? better audio from my flat screen without lots of wires; upgrade the living room for football games
Turntable | Belt Drive, Direct Drive, Suitcase Style=retro portable | 2-Speed, 3-Speed=plays old 78s
  + Bluetooth Output, USB Recording, Built-In Preamp, Wooden Plinth > Over-Ear Headphones, Bluetooth Speaker
  ? play my parents' old vinyl collection; spin records in my apartment
  ? digitize old albums from the attic; gift for a music lover who collects LPs
Podcast Microphone | USB Condenser=plug in, XLR Dynamic=pro, Cardioid | Desktop Stand=desk stand, Boom Arm Kit=swing arm
  + Pop Filter, Mute Button, Gain Knob, Plug and Play > Over-Ear Headphones, Monitor Stand
  ? record my voice clearly for a show I'm starting; sound better on zoom calls
  ? stream on twitch without sounding muffled; gift for someone launching a youtube channel
# Gaming: Vortexa, Nexplay, Raidcore, Pixelforge, Lumenkey, Zerolag
Gaming Mouse | Wireless, Wired Ultralight=light, Ergonomic Vertical=vertical | 8000 DPI, 16000 DPI, 26000 DPI
  + RGB Lighting=lights up, Programmable Buttons=extra buttons, Honeycomb Shell > Mouse Pad, Mechanical Keyboard
  ? aim faster in first person shooters; my clicker for the computer lags during matches
  ? something precise for fps games with side buttons; gift for a teen who plays valorant
Mechanical Keyboard | Red Switch=quiet, Blue Switch=clicky, Brown Switch=tactile | Full Size, Tenkeyless=no numpad
  + Hot-Swappable, RGB Backlit=lights up, Detachable USB-C Cable, PBT Keycaps > Gaming Mouse, Mouse Pad
  ? typing that feels satisfying and loud; my laptop keys feel mushy when I play
  ? something nice for typing code all day; gift for a pc gamer building a new setup
Gaming Headset | 7.1 Surround=surround sound, Wireless=no cable, Wired | for PS5=playstation, for Xbox, for PC=computer
  + Noise-Cancelling Mic, Memory Foam Earcups, Flip-to-Mute > Controller Charging Dock, Gaming Chair
  ? talk to my squad during online matches; hear footsteps in battle royale games
  ? chat with friends while playing fortnite; so my roommate can't hear my game
Controller Charging Dock | Dual, Quad, Single | for PS5=playstation, for Xbox=xbox, for Switch=nintendo
  + LED Indicators, Fast Charge, Overcharge Protection, Includes Battery Packs > Gaming Headset
  ? my gamepads are always dead when I want to play; keep the joysticks juiced up overnight
  ? stop buying AA batteries for my gamepad; tidy station for game pads on the shelf
Gaming Chair | Faux Leather=leather look, Breathable Mesh=mesh, Fabric | Standard, Big and Tall, Kids
  + Lumbar Support=lower back support, Retractable Footrest, 4D Armrests, 360 Swivel > Mouse Pad, Gaming Headset
  ? my back hurts after long sessions at the pc; comfortable seat for 8 hour streams
  ? seat for a teenager's bedroom setup; reclining seat to nap between matches
Mouse Pad | Cloth=soft, Hard Surface=hard, Tempered Glass=glass | Medium, XL=large, XXL Desk Mat=covers the whole desk
  + Stitched Edges, Non-Slip Base=doesn't slide, RGB Border=lights up > Gaming Mouse, Mechanical Keyboard
  ? cover my whole desk so my arm glides; protect the desk from scratches under my setup
  ? smoother tracking for aiming; my desk looks boring and needs something under the keyboard
# Outdoor & Camping: Trailpeak, Summitfox, Ridgeway, Campora, Northwind, Pinecrest
Camping Tent | Dome, Instant Pop-Up=sets up in seconds, Ultralight | 2 Person=for two, 4 Person, 6 Person=family size
  + Waterproof Rainfly=stays dry in rain, Easy Setup, Mesh Windows, Carry Bag > Sleeping Bag, Headlamp, Camp Stove
  ? shelter for a weekend at the lake with the kids; sleeping outdoors at a music festival
  ? first overnight trip in a national park; stay dry when it storms at the campsite
Sleeping Bag | Mummy=snug fit, Rectangular=roomy, Down Filled=down | 20 Degree=for cold nights, 40 Degree=for summer
  + Compression Sack=packs small, Water-Resistant Shell, Two-Way Zipper, Machine Washable > Camping Tent, Headlamp
  ? stay warm at night in the mountains; something to crawl into at the campsite when it gets cold
  ? sleepover bedding for kids; backpacking trip where nights drop near freezing
Headlamp | Rechargeable, AAA Battery=uses regular batteries, Waterproof | 300 Lumen, 600 Lumen, 1200 Lumen=super bright
  + Red Light Mode, Motion Sensor, Adjustable Strap, Lightweight > Camping Tent, Hiking Backpack
  ? see the trail at night while keeping my hands free; light for fixing the car in the dark
  ? running before sunrise safely; read in my tent at night
Hiking Backpack | Internal Frame, Ventilated Mesh Back=breathable, Ultralight | 20L=day trip, 40L=overnight, 65L=big
  + Hydration Compatible=fits a water bladder, Rain Cover, Padded Hip Belt > Water Filter, Headlamp, Sleeping Bag
  ? carry gear up a mountain for a few days; bag for long trail walks with a water bladder
  ? something comfortable for snacks and layers on a day trek; pack for trekking in patagonia
Camp Stove | Propane 2-Burner=two burner, Canister=tiny, Wood Burning=burns sticks | 10000 BTU, 20000 BTU=strong flame
  + Piezo Ignition=push button start, Wind Guard, Carry Case, Foldable Legs > Cast Iron Skillet, Water Filter
  ? cook breakfast at the campsite; boil water for freeze dried meals on the trail
  ? make pancakes while car camping; cooking outdoors when the power goes out
Water Filter | Straw, Gravity Bag, Squeeze Pouch=squeeze | Personal=just for me, Group=for a group
  + Removes Bacteria=safe to drink, BPA-Free, Lightweight, Long Lifespan > Hiking Backpack, Camp Stove
  ? drink safely from streams on a backpacking trip; emergency drinking supply for a prep kit
  ? make river drinkable on my hike; preparedness for a hurricane
# Baby: Littlebloom, Cradleworks, Nestling, Bumblecub, Snuggo, Tinytoes
Baby Monitor | Video, Audio Only=sound only, Wi-Fi Smart=phone app | 2.8 inch Screen=small screen, 5 inch Screen
  + Night Vision, Two-Way Talk=talk back, Room Temperature Sensor, Long Range > White Noise Machine, Stroller
  ? keep an eye on the newborn napping while I cook; watch the nursery from the couch
  ? hear my infant crying from the other room; check on the little one from work
Stroller | Lightweight Travel=lightweight, Jogging=for running, Full-Size | Single, Double=for twins
  + One-Hand Fold=folds with one hand, Large Storage Basket, Reclining Seat, Cup Holder > Diaper Bag, Baby Carrier
  ? push the baby around the park; take the kids on runs with me
  ? fits in a small car trunk for trips with a toddler; gift for parents expecting twins
Diaper Bag | Backpack, Tote, Messenger | Standard, Large=roomy
  + Changing Pad Included, Insulated Bottle Pockets, Stroller Straps, Water-Resistant > Stroller, Bottle Warmer
  ? carry everything for outings with my infant; baby shower gift for a dad that doesn't look girly
  ? pack wipes and a change of clothes for daycare; hands free way to carry baby stuff to the park
Baby Carrier | Ergonomic, Soft Wrap=wrap, Hip Seat | Newborn, Toddler
  + Lumbar Support=lower back support, Breathable Mesh, Multiple Positions, Machine Washable > Stroller, Diaper Bag
  ? keep my newborn close while doing chores; hands free while wearing my infant on hikes
  ? soothe a fussy little one by holding them all day; infant wearing for dads
White Noise Machine | Portable=travel, Bedside, App Controlled=phone app | 10 Sounds, 30 Sounds
  + Night Light, Sleep Timer, Continuous Play, Headphone Jack > Baby Monitor, Weighted Blanket
  ? help my infant sleep through the night; drown out street traffic so the toddler naps
  ? something that hums to soothe a newborn; help me fall asleep in a loud apartment
Bottle Warmer | Fast Heating=fast, Portable=travel, Digital | Single, Double=for twins
  + Auto Shut-Off=turns off by itself, Defrost Mode=thaws frozen milk, BPA-Free > Diaper Bag, Baby Monitor
  ? heat breast milk to the right temperature; night feedings without standing at the stove
  ? thaw frozen milk quickly; warm formula on road trips
# Office: Deskwell, Papertrail, Officio, Workframe, Lumora, Clerkly
Standing Desk Converter | Two-Tier, Gas Spring, Electric | 28 inch=small, 32 inch, 36 inch=wide
  + Keyboard Tray, Height Adjustable, Quick Release, Holds Dual Monitors=fits two screens > Monitor Stand, Office Chair
  ? work on my feet for part of the day; raise my laptop and keyboard so I can stand
  ? back pain from sitting all day at work; upgrade the workstation without buying new furniture
Office Chair | Mesh=breathable, Executive Leather=leather, Fabric | Standard, Big and Tall, Petite=for short people
  + Lumbar Support=lower back support, Adjustable Armrests, Headrest > Standing Desk Converter, Desk Lamp
  ? sit comfortably through long work days at home; my back aches on the kitchen stool I work from
  ? seating for a home study; something supportive for eight hours of spreadsheets
Desk Lamp | LED, Swing Arm, Clamp-On=clamps on | 400 Lumen=soft, 800 Lumen=bright
  + USB Charging Port, Eye-Caring=easy on the eyes, Touch Dimmer, 5 Color Modes > Office Chair, Monitor Stand
  ? better light for reading at night; my eyes strain when I study late
  ? brighten up my workspace for sketching; lighting for homework in the kids room
Monitor Stand | Bamboo Riser=wooden, Metal Riser=metal, Gas Spring Arm=arm | Single, Dual=two screens
  + Storage Drawer, USB Hub, Cable Management, Height Adjustable > Standing Desk Converter, Mechanical Keyboard
  ? raise my screen to eye level to fix neck pain; declutter my workspace and hide cables
  ? lift my display so my laptop fits underneath; neck hurts from looking down at the computer
Label Maker | Handheld, Bluetooth, Desktop | Standard, Starter Kit=with extra tape
  + QWERTY Keyboard, Rechargeable, Backlit Display, Laminated Tape > Paper Shredder
  ? organize my pantry jars with neat names; print stickers for file folders
  ? tidy up the garage bins with tags; gift for someone obsessed with organizing
Paper Shredder | Cross-Cut, Micro-Cut=extra secure, Strip-Cut | 6 Sheet, 12 Sheet, 18 Sheet
  + Cuts Credit Cards, Quiet Operation, Overheat Protection, Pull-Out Bin > Label Maker, Standing Desk Converter
  ? destroy old bank statements safely; protect against identity theft at home
  ? get rid of old tax documents securely; cut up junk mail with my personal info
# Pet Supplies: Pawsome, Furrend, Barkley, Whiskerly, Tailwind, Petvana
Dog Bed | Orthopedic Memory Foam=memory foam, Bolster=raised edges, Elevated Cooling=raised | Small, Medium, Large, XL
  + Removable Washable Cover, Non-Skid Bottom, Waterproof Liner, Chew Resistant > Retractable Leash, Pet Grooming Brush
  ? comfy spot for my old lab with achy joints; my puppy keeps sleeping on the couch
  ? place for the pup to nap in my office; gift for a senior pooch
Cat Tree | Multi-Level Tower=tall, Compact, Modern Wood=wooden | 36 inch=small, 52 inch, 72 inch=tall
  + Sisal Scratching Posts=scratching, Cozy Condo, Hanging Toys, Hammock > Automatic Feeder, Pet Water Fountain
  ? stop my kitty from shredding the sofa; somewhere for the kitten to climb and nap
  ? keep my indoor feline entertained; gift for a new kitten owner
Retractable Leash | Tape, Cord, Heavy Duty | 10 ft=short, 16 ft, 26 ft=long
  + One-Button Brake, Reflective=visible at night, Anti-Slip Handle, Tangle-Free > Dog Bed, Pet Grooming Brush
  ? give my pup more freedom on walks; walking a big puppy that pulls
  ? evening walks with the pooch that are safe in the dark; long lead for the park
Pet Water Fountain | Stainless Steel=metal, Ceramic, BPA-Free Plastic=plastic | 2 Liter=small, 3 Liter=large
  + Ultra Quiet Pump=quiet, Triple Filtration, Dishwasher Safe=easy to clean > Automatic Feeder, Cat Tree
  ? my kitty doesn't drink enough; keep the drinking bowl fresh while I'm at work
  ? cats prefer running streams to a still bowl; vet said my feline needs more hydration
Automatic Feeder | Wi-Fi Smart=phone app, Programmable, Gravity | 4 Liter=small, 6 Liter=large
  + Portion Control, Voice Recorder, Dual Power Supply, Stainless Bowl > Pet Water Fountain, Cat Tree
  ? meals for my cat on a schedule while I'm away; my dog begs for breakfast at 5 am
  ? control how much my chubby kitty eats; dispense kibble when I work late
Pet Grooming Brush | Deshedding Tool=deshedding, Slicker, Bristle | Small, Large
  + Self-Cleaning Button, Ergonomic Handle=comfortable grip, Gentle Pins, Rounded Tips > Dog Bed, Retractable Leash
  ? stop fur getting all over the couch; my husky sheds everywhere in spring
  ? detangle my long-haired cat's coat; keep a golden retriever's coat tidy
# Beauty & Personal Care: Glowra, Silkara, Velvetine, Purely, Aurabelle, Luxette
Hair Dryer | Ionic=less frizz, Ceramic, Compact Travel=travel size | 1600W, 1875W=powerful
  + Diffuser Attachment=for curls, Concentrator Nozzle, Cool Shot Button > Hair Straightener, Makeup Brush Set
  ? get my thick locks done fast before work; less frizz after showering
  ? blow out my curls without damage; something for drying after the gym
Electric Toothbrush | Sonic, Oscillating, Kids | 3 Modes, 5 Modes
  + 2-Minute Timer, Pressure Sensor, Travel Case, 4 Replacement Heads > Electric Shaver, Facial Cleansing Brush
  ? whiter teeth and healthier gums; my dentist says I scrub too hard
  ? cleaner mouth than with a manual one; get the kids to clean their teeth properly
Makeup Brush Set | Synthetic, Vegan, Professional | 5 Piece=small, 12 Piece, 18 Piece=big
  + Travel Pouch, Cruelty-Free, Blending Sponge Included, Soft Bristles > Hair Dryer, Facial Cleansing Brush
  ? apply foundation and eyeshadow smoothly; blend contour like a pro
  ? starter kit for a teen learning cosmetics; gift for a friend who loves doing her face
Facial Cleansing Brush | Silicone, Sonic, Rotating | Standard, Mini=small
  + Waterproof, USB Rechargeable, Gentle Exfoliation, Soft Bristles > Makeup Brush Set, Electric Toothbrush
  ? deep clean pores and remove leftover foundation; help with acne and oily skin
  ? exfoliate my face at night; spa like skincare routine at home
Hair Straightener | Titanium, Ceramic, Tourmaline | 1 inch, 1.5 inch=wide
  + Adjustable Temperature, Dual Voltage=works abroad, Auto Shut-Off=turns off by itself > Hair Dryer
  ? sleek smooth locks without going to the salon; tame frizzy curls
  ? flat iron for thick curly locks; get pin straight looks at home
Electric Shaver | Rotary, Foil, Wet and Dry | 3 Blade, 5 Blade
  + Pop-Up Trimmer, Waterproof, Cleaning Station, 60 Minute Runtime > Electric Toothbrush
  ? clean look every morning without razor bumps; keep my beard neat and cheeks smooth
  ? gift for dad who nicks himself with razors; fast grooming before work
# Tools & Home Improvement: Forgeline, Boltmaster, Craftiva, Torqworks, Benchmark, Rivetti
Cordless Drill | Brushless, Compact, Hammer | 12V, 20V=powerful
  + 2 Batteries Included, Keyless Chuck, 30-Piece Bit Set, Belt Clip > Stud Finder, Socket Set, Work Light
  ? hang shelves and put together furniture; screw things into walls without wearing out my wrist
  ? first tool for a new homeowner; assemble ikea furniture faster
Stud Finder | Magnetic, Electronic, Multi-Scanner | Standard, Pro
  + LCD Display, Live Wire Detection, Center Marking, Audio Alert > Cordless Drill, Laser Level
  ? find the wood behind drywall before hanging a tv; avoid hitting wires when I nail
  ? mount a heavy mirror safely; locate beams in the wall
Laser Level | Cross Line, 360 Degree, Rotary | 50 ft, 100 ft=long range
  + Self-Leveling, Tripod Included, Magnetic Mount, Green Beam=visible > Stud Finder, Cordless Drill
  ? hang picture frames perfectly straight; install kitchen cabinets evenly
  ? line up a gallery wall; tile a bathroom in a straight line
Socket Set | Chrome Vanadium, Impact, Drive | 40 Piece=small, 108 Piece, 216 Piece=big
  + Ratchet Handle, Carrying Case, Metric and SAE, Lifetime Warranty > Cordless Drill
  ? fix my car and bike myself; tighten the bolts on a lawn mower
  ? starter mechanic kit for my son; assemble a grill with lots of nuts
Shop Vacuum | Wet Dry, Stainless Steel=metal, Portable | 2.5 Gallon=small, 5 Gallon, 12 Gallon=big
  + Blower Port, HEPA Filter, Long Hose, Wall Mount > Cordless Drill, Work Light
  ? clean up sawdust in the garage; suck up a flooded basement puddle
  ? clean the garage after a renovation; pick up drywall dust and debris
Work Light | LED, Magnetic, Tripod | 1000 Lumen, 3000 Lumen=bright, 5000 Lumen=super bright
  + Rechargeable, Magnetic Base, Foldable Stand, IP65 Waterproof > Cordless Drill, Shop Vacuum
  ? see under the sink while fixing a leak; brighten the garage for late night projects
  ? illuminate the crawl space; bright portable lamp for the job site
# Sports & Fitness: Fitora, Stridewell, Corevia, Agilo, Zenfit, Pulsecraft
Yoga Mat | TPE, Natural Rubber=rubber, Cork | 4mm=thin, 6mm, 10mm=extra thick
  + Non-Slip, Alignment Lines, Carrying Strap, Eco-Friendly > Foam Roller, Resistance Bands
  ? pilates at home without sliding around; cushion my knees during stretching
  ? something to take to hot vinyasa class; gift for a friend who just started meditation
Adjustable Dumbbells | Dial, Spin-Lock, Cast Iron | 25 lb, 52 lb, 90 lb=heavy
  + Storage Tray, Quick Change, Anti-Roll Handles, Space Saving > Resistance Bands, Yoga Mat
  ? build muscle at home without a gym membership; weights for a tiny apartment workout
  ? strength training in the garage; replace a whole rack of weights
Foam Roller | High Density=firm, Textured, Vibrating | 12 inch=short, 18 inch, 36 inch=long
  + Massage Ball Included, Lightweight, Exercise Guide, Travel Size > Yoga Mat, Resistance Bands
  ? soothe sore muscles after long runs; loosen tight calves and IT band
  ? recover faster after leg day; work out knots in my back
Jump Rope | Speed, Weighted, Beaded | Standard, Kids
  + Ball Bearings, Adjustable Length, Foam Handles, Digital Counter > Adjustable Dumbbells
  ? quick cardio in a small space; train like a boxer at home
  ? double unders for crossfit; fun exercise for the kids at recess
Resistance Bands | Fabric, Latex, Tube | Light, Medium, Heavy
  + Door Anchor, Handles Included, Carry Bag, Exercise Guide > Yoga Mat, Adjustable Dumbbells
  ? physical therapy for my knee; glute workouts while traveling
  ? strength training with something stretchy; home workouts for seniors
Sports Water Bottle | Stainless Steel=metal, Tritan Plastic=plastic, Collapsible | 24 oz, 32 oz, 40 oz=big
  + Time Markers, Straw Lid, Leak-Proof=won't leak, Insulated > Jump Rope, Hiking Backpack
  ? stay hydrated at the gym; track how much I drink during the day
  ? keep drinks ice cold on long bike rides; something to sip from at soccer practice
# Home & Bedding: Dreamwell, Cozyloft, Hearthly, Sleepora, Linenrow, Airabloom
Weighted Blanket | Cotton, Minky, Cooling Bamboo=cooling | 12 lb, 15 lb, 20 lb=heavy
  + Glass Bead Fill, Removable Cover, Breathable, Even Weight Distribution > Memory Foam Pillow, White Noise Machine
  ? calm my anxiety at bedtime; feels like a hug when I can't sleep
  ? help a restless child fall asleep; something heavy to sleep under for insomnia
Memory Foam Pillow | Contour, Shredded, Cooling Gel=cooling | Standard, Queen, King
  + Cervical Support=neck support, Hypoallergenic, Washable Cover, Adjustable Loft > Weighted Blanket, Blackout Curtains
  ? I wake up with a stiff neck every day; side sleeper with shoulder pain
  ? better head support in bed; something soft that stays cool for hot sleepers
Blackout Curtains | Thermal Insulated, Velvet, Linen Look | 63 inch=short, 84 inch, 96 inch=long
  + Noise Reducing, Grommet Top, Set of 2, Energy Saving > Memory Foam Pillow, White Noise Machine
  ? keep the bedroom dark for day sleeping after night shifts; block streetlight from the window
  ? darkness for nursery naps; cooler room in summer by blocking the sun
Air Purifier | HEPA, Smart, Compact | 200 sq ft=small room, 500 sq ft, 1000 sq ft=large room
  + Quiet Sleep Mode, Quality Sensor, Washable Pre-Filter, Odor Removal > Humidifier
  ? my allergies get worse at home in the spring; get rid of pet dander and smoke smell
  ? wildfire smoke in the house; cleaner breathing for my asthma
Humidifier | Cool Mist, Warm Mist, Ultrasonic | 2 Liter=small, 4 Liter, 6 Liter=large
  + Essential Oil Tray, Auto Shut-Off=turns off by itself, Whisper Quiet=quiet > Air Purifier, White Noise Machine
  ? dry skin and cracked lips in winter; stuffy nose when I wake up
  ? add moisture to the nursery; my sinuses hate the dry indoor heating
Throw Blanket | Sherpa Fleece=fleece, Chunky Knit=knit, Flannel | 50x60 inch, 60x80 inch=oversized
  + Reversible, Machine Washable, Decorative Tassels, Lightweight > Memory Foam Pillow
  ? cozy up on the couch for movie night; keep warm while reading on the sofa
  ? housewarming gift that looks nice on a couch; something soft for the chilly living room
# Garden & Patio: Greenhaven, Bloomwise, Rootstock, Sunpatch, Thornfield, Gardeneer
Garden Hose | Expandable, Rubber, Hybrid | 25 ft=short, 50 ft, 100 ft=long
  + Spray Nozzle Included, Kink-Free, Brass Fittings, Lightweight > Pruning Shears, Raised Garden Bed
  ? water the lawn and flower beds; wash my car in the driveway
  ? reach the back of the yard with water; fill up the kids pool
Pruning Shears | Bypass, Anvil, Ratchet | Standard, Heavy Duty
  + Sharp Steel Blade, Ergonomic Grip=comfortable grip, Safety Lock, Sap Groove > Kneeling Pad, Garden Hose
  ? trim my rose bushes; cut back overgrown hedges and branches
  ? deadhead flowers; snip herbs and small twigs
Raised Garden Bed | Cedar Wood=wooden, Galvanized Steel=metal, Fabric | 4x2 ft=small, 4x4 ft, 8x4 ft=large
  + Tool-Free Assembly, Open Bottom, Rust Resistant, Elevated Legs > Garden Hose, Kneeling Pad, Pruning Shears
  ? grow tomatoes and vegetables in my backyard; planter box so I don't have to kneel
  ? start a vegetable patch on a patio; herbs for cooking outside the kitchen door
Bird Feeder | Hanging, Window Mount, Squirrel-Proof | Small, Large
  + Weatherproof Roof, Easy to Fill, Metal Perch, Seed Tray > Solar Path Lights, Pruning Shears
  ? attract cardinals and finches to my yard; watch songbirds from the kitchen window
  ? gift for grandma who loves watching wildlife; stop squirrels stealing all the sunflower seeds
Solar Path Lights | Stainless Steel=metal, Glass, Bronze | 6 Pack, 8 Pack, 12 Pack
  + Dusk to Dawn=turn on at night, Waterproof, Warm White, No Wiring Needed > Bird Feeder, Garden Hose
  ? light the walkway at night without an electrician; make the backyard glow in the evening
  ? brighten the driveway edge; outdoor glow powered by sunshine
Kneeling Pad | Thick Foam=foam, Gel, Foldable Bench=doubles as a seat | Standard, XL=large
  + Waterproof, Carry Handle, Tool Pouches, Lightweight > Raised Garden Bed, Pruning Shears
  ? protect my knees while weeding; cushion for planting bulbs
  ? scrubbing floors on my hands and knees; gardening gift for grandpa with bad knees
# Travel & Luggage: Jetwise, Voyara, Roamly, Wanderpack, Globetrek, Nomadi
Carry-On Suitcase | Hardside, Softside, Aluminum | 20 inch, 22 inch
  + Spinner Wheels, TSA Lock, Expandable, USB Port > Packing Cubes, Travel Pillow, Universal Travel Adapter
  ? fit in the overhead bin so I skip checked bag fees; weekend trip bag with wheels
  ? business trips with a laptop; rolling bag for a honeymoon
Travel Pillow | Memory Foam, Inflatable, Microbead | Standard, Kids
  + Washable Cover, Chin Support, Eye Mask Included, Compact Storage Bag > Carry-On Suitcase, Packing Cubes
  ? sleep on a long haul flight without a sore neck; nap upright on the bus
  ? comfort on a red eye flight; road trip naps in the passenger seat
Packing Cubes | Compression, Mesh, Ultralight | 4 Set, 6 Set, 8 Set
  + Water-Resistant, Double Zipper, Laundry Bag Included, Sturdy Handles > Carry-On Suitcase, Travel Pillow
  ? organize my clothes in a backpack for a month abroad; fit more into my luggage
  ? keep dirty clothes apart on vacation; neat bags for the whole family's holiday
Passport Wallet | Genuine Leather=leather, Vegan Leather, Nylon | Single, Family
  + RFID Blocking, Pen Holder, SIM Card Slot, Boarding Pass Pocket > Universal Travel Adapter, Carry-On Suitcase
  ? keep travel documents together at the airport; protect my cards from skimming abroad
  ? hold tickets and ids for a family trip; gift for a first trip overseas
Universal Travel Adapter | All-in-One, Compact, Heavy Duty | 2 USB Ports=two ports, 4 USB Ports=four ports
  + USB-C Fast Charging, Fits 150 Countries, Fuse Protection, Slide Plugs > Portable Charger, Carry-On Suitcase
  ? charge my phone in european outlets; plug in my laptop in japan and the uk
  ? one thing for sockets in every country; trip to australia with different wall plugs
Luggage Scale | Digital, Mechanical, Hook | 50 kg, 75 kg
  + Backlit Display, Tare Function, Auto Off, Compact > Carry-On Suitcase, Packing Cubes
  ? avoid overweight bag fees at the airport; check if my checked bag is under the limit
  ? weigh souvenirs before flying home; airline weight limit worries
# Smart Home & Electronics: Hubbly, Voltique, Nestwire, Brightcell, Homelink, Sparkbyte
Smart Plug | Wi-Fi, Zigbee, Outdoor | 1 Pack, 2 Pack, 4 Pack
  + Voice Control, Energy Monitoring, Timer Schedules, No Hub Required > Video Doorbell, Security Camera
  ? turn my lamps on from my phone; schedule the coffee maker each morning
  ? control the christmas lights by voice; make dumb appliances controllable from an app
Video Doorbell | Wired, Battery, Peephole | 1080p, 2K, 4K=sharp
  + Two-Way Talk=talk back, Motion Alerts, Night Vision, Package Detection > Security Camera, Smart Plug
  ? see who's at the front door from work; stop porch pirates stealing deliveries
  ? answer visitors from my phone; know when the mail carrier arrives
Portable Charger | Slim, Magnetic, Rugged | 5000mAh=small, 10000mAh, 20000mAh=big
  + Fast Charging, Digital Display, Dual Output, Airline Approved > Universal Travel Adapter, Wireless Earbuds
  ? my phone dies by afternoon; keep devices alive at a festival
  ? backup juice for long flights; emergency power for phones during outages
Wi-Fi Range Extender | Dual Band, Tri-Band Mesh=mesh, Plug-In | AC1200, AX1800, AX3000=fastest
  + Ethernet Port, App Setup, Wall Plug Design, Signal Indicator > Smart Plug, Security Camera
  ? dead zones upstairs where the internet drops; internet in the backyard office shed
  ? stream in the basement without buffering; my bedroom signal is weak
Security Camera | Indoor, Outdoor, Pan-Tilt | 1080p, 2K, 4K=sharp
  + Night Vision, Motion Detection, Two-Way Talk=talk back, Local Storage > Video Doorbell, Smart Plug
  ? keep watch over the driveway at night; check on my dog while I'm at work
  ? catch whoever keeps stealing from my yard; peace of mind while on vacation
Smart Thermostat | Learning, Programmable, Touchscreen | Standard, with Remote Sensor
  + Energy Saving, Voice Control, Geofencing, Usage Reports > Smart Plug
  ? lower my heating bill; adjust the house temperature from my phone
  ? warm house when I get home without running heat all day; cool the home before I arrive in summer
# Automotive: Roadwise, Drivemate, Autonix, Motorly, Highgear, Pitlane
Dash Cam | Front, Front and Rear=both directions, Mirror | 1080p, 2K, 4K=sharp
  + Night Vision, Loop Recording, G-Sensor, Parking Mode > Car Phone Mount, Jump Starter
  ? record what happens in case of an accident; proof for insurance after a fender bender
  ? rideshare driver needs video evidence; catch bad drivers on my commute
Car Phone Mount | Dashboard, Vent, Magnetic | Standard, Large=for big phones
  + One-Touch Release, 360 Rotation, Wireless Charging, Strong Suction > Dash Cam, Portable Charger
  ? see maps while I drive; gps navigation hands free while driving
  ? hold my cell near the windshield; rideshare driver needs directions visible
Jump Starter | Lithium, Compact, Heavy Duty | 1000A, 2000A, 3000A=powerful
  + Built-In Flashlight, USB Power Bank, Safety Clamps, LCD Screen > Tire Inflator, Dash Cam
  ? dead battery in a parking lot and no one to help; boost my truck in winter without cables
  ? emergency kit for my teen's first vehicle; winter roadside emergency
Tire Inflator | Portable, Cordless, 12V | 100 PSI, 150 PSI
  + Auto Shut-Off=turns off by itself, Digital Gauge, LED Light, Multiple Nozzles > Jump Starter, Car Vacuum
  ? fill up a flat before driving to work; pump up bike and car wheels
  ? low pressure warning on my dashboard; inflate sports balls and bike tubes
Car Vacuum | Cordless Handheld=cordless, Corded 12V=corded, Wet Dry | Standard, Compact=small
  + HEPA Filter, Crevice Tool, Strong Suction, Washable Filter > Back Seat Organizer, Tire Inflator
  ? clean crumbs out of the kids' seats; pet hair all over my seats
  ? sand in the footwell after the beach; quick clean between the front seats
Back Seat Organizer | Kick Mat, Tablet Holder, Storage | 1 Pack, 2 Pack
  + Multiple Pockets, Waterproof, Insulated Cooler Pocket, Touchscreen Window > Car Vacuum, Car Phone Mount
  ? stop kids kicking the seats on road trips; keep snacks and toys within reach for the kids
  ? tidy up the family minivan; keep an ipad in view for toddlers on long drives
"""
