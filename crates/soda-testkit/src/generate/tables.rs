//! The vocabularies the generator draws from: NIBRS offenses with their SPD category, sub-category (new and
//! old names) and crime-against class; SPD's 58 neighborhoods (MCPP areas, names as in
//! `shared/data/geo/spd_mcpp_areas.geojson`) with precinct, sector and an approximate centre.

/// One NIBRS offense as SPD publishes it.
pub(crate) struct Offense {
    pub code: &'static str,
    pub description: &'static str,
    /// `offense_sub_category` (new schema).
    pub sub_category: &'static str,
    /// `offense_parent_group` (old schema).
    pub parent_group: &'static str,
    pub against: &'static str,
    pub group_a_b: &'static str,
    pub category: &'static str,
    /// Relative frequency (percent of offenses).
    pub weight: f64,
}

const P: &str = "PROPERTY CRIME";
const V: &str = "VIOLENT CRIME";
const O: &str = "ALL OTHER";
const LARCENY: &str = "LARCENY-THEFT";
const FRAUD_NEW: &str = "EXTORTION/FRAUD/FORGERY/BRIBERY (INCLUDES BAD CHECKS)";
const PROP_OFF: &str = "PROPERTY OFFENSES (INCLUDES STOLEN, DESTRUCTION)";

macro_rules! off {
    ($code:expr, $desc:expr, $sub:expr, $parent:expr, $against:expr, $ab:expr, $cat:expr, $w:expr) => {
        Offense {
            code: $code,
            description: $desc,
            sub_category: $sub,
            parent_group: $parent,
            against: $against,
            group_a_b: $ab,
            category: $cat,
            weight: $w,
        }
    };
}

/// About 60% property crime, 17% violent crime, 23% all other (SPD's split of recent years).
pub(crate) const OFFENSES: &[Offense] = &[
    // PROPERTY CRIME: FBI property offenses 200, 220, 23A-23H, 240.
    off!("23H", "All Other Larceny", LARCENY, LARCENY, "PROPERTY", "A", P, 11.6),
    off!("23F", "Theft From Motor Vehicle", LARCENY, LARCENY, "PROPERTY", "A", P, 10.0),
    off!("220", "Burglary/Breaking & Entering", "BURGLARY", "BURGLARY/BREAKING&ENTERING", "PROPERTY", "A", P, 10.0),
    off!("240", "Motor Vehicle Theft", "MOTOR VEHICLE THEFT", "MOTOR VEHICLE THEFT", "PROPERTY", "A", P, 9.0),
    off!("23C", "Shoplifting", LARCENY, LARCENY, "PROPERTY", "A", P, 9.0),
    off!("23G", "Theft of Motor Vehicle Parts or Accessories", LARCENY, LARCENY, "PROPERTY", "A", P, 5.0),
    off!("23D", "Theft From Building", LARCENY, LARCENY, "PROPERTY", "A", P, 4.0),
    off!("200", "Arson", "ARSON", "ARSON", "PROPERTY", "A", P, 0.6),
    off!("23A", "Pocket-picking", LARCENY, LARCENY, "PROPERTY", "A", P, 0.3),
    off!("23B", "Purse-snatching", LARCENY, LARCENY, "PROPERTY", "A", P, 0.2),
    off!("23E", "Theft From Coin-Operated Machine or Device", LARCENY, LARCENY, "PROPERTY", "A", P, 0.2),
    // VIOLENT CRIME: FBI violent offenses 09A, 11A, 11B, 11C, 120, 13A.
    off!("13A", "Aggravated Assault", "AGGRAVATED ASSAULT", "ASSAULT OFFENSES", "PERSON", "A", V, 10.0),
    off!("120", "Robbery", "ROBBERY", "ROBBERY", "PROPERTY", "A", V, 5.5),
    off!("11A", "Rape", "RAPE", "SEX OFFENSES", "PERSON", "A", V, 0.9),
    off!("11B", "Sodomy", "RAPE", "SEX OFFENSES", "PERSON", "A", V, 0.3),
    off!("11C", "Sexual Assault With An Object", "RAPE", "SEX OFFENSES", "PERSON", "A", V, 0.2),
    off!("09A", "Murder & Nonnegligent Manslaughter", "HOMICIDE", "HOMICIDE OFFENSES", "PERSON", "A", V, 0.15),
    // ALL OTHER.
    off!("13B", "Simple Assault", "ASSAULT OFFENSES", "ASSAULT OFFENSES", "PERSON", "A", O, 6.0),
    off!(
        "290",
        "Destruction/Damage/Vandalism of Property",
        PROP_OFF,
        "DESTRUCTION/DAMAGE/VANDALISM OF PROPERTY",
        "PROPERTY",
        "A",
        O,
        5.0
    ),
    off!("13C", "Intimidation", "ASSAULT OFFENSES", "ASSAULT OFFENSES", "PERSON", "A", O, 3.0),
    off!("90J", "Trespass of Real Property", "TRESPASS", "TRESPASS OF REAL PROPERTY", "SOCIETY", "B", O, 1.2),
    off!("26A", "False Pretenses/Swindle/Confidence Game", FRAUD_NEW, "FRAUD OFFENSES", "PROPERTY", "A", O, 1.0),
    off!("26B", "Credit Card/Automated Teller Machine Fraud", FRAUD_NEW, "FRAUD OFFENSES", "PROPERTY", "A", O, 1.0),
    off!("26F", "Identity Theft", FRAUD_NEW, "FRAUD OFFENSES", "PROPERTY", "A", O, 1.0),
    off!(
        "35A",
        "Drug/Narcotic Violations",
        "NARCOTIC VIOLATIONS (INCLUDES DRUG EQUIP.)",
        "DRUG/NARCOTIC OFFENSES",
        "SOCIETY",
        "A",
        O,
        1.0
    ),
    off!("90D", "Driving Under the Influence", "DUI", "DRIVING UNDER THE INFLUENCE", "SOCIETY", "B", O, 0.8),
    off!("520", "Weapon Law Violations", "WEAPON LAW VIOLATION", "WEAPON LAW VIOLATIONS", "SOCIETY", "A", O, 0.6),
    off!("280", "Stolen Property Offenses", PROP_OFF, "STOLEN PROPERTY OFFENSES", "PROPERTY", "A", O, 0.5),
    off!("26E", "Wire Fraud", FRAUD_NEW, "FRAUD OFFENSES", "PROPERTY", "A", O, 0.4),
    off!(
        "35B",
        "Drug Equipment Violations",
        "NARCOTIC VIOLATIONS (INCLUDES DRUG EQUIP.)",
        "DRUG/NARCOTIC OFFENSES",
        "SOCIETY",
        "A",
        O,
        0.3
    ),
    off!("26C", "Impersonation", FRAUD_NEW, "FRAUD OFFENSES", "PROPERTY", "A", O, 0.2),
    off!("11D", "Fondling", "SEX OFFENSES", "SEX OFFENSES", "PERSON", "A", O, 0.2),
    off!("100", "Kidnapping/Abduction", "KIDNAPPING/ABDUCTION", "KIDNAPPING/ABDUCTION", "PERSON", "A", O, 0.2),
    off!("90Z", "All Other Offenses", "ALL OTHER", "ALL OTHER", "ANY", "B", O, 0.2),
    off!(
        "90F",
        "Family Offenses, Nonviolent",
        "NON-VIOLENT FAMILY OFFENSES",
        "FAMILY OFFENSES, NONVIOLENT",
        "SOCIETY",
        "B",
        O,
        0.1
    ),
    off!(
        "90C",
        "Disorderly Conduct",
        "DISORDERLY CONDUCT & VAGRANCY VIOLATIONS",
        "DISORDERLY CONDUCT",
        "SOCIETY",
        "B",
        O,
        0.1
    ),
    off!("250", "Counterfeiting/Forgery", FRAUD_NEW, "COUNTERFEITING/FORGERY", "PROPERTY", "A", O, 0.1),
    off!(
        "90G",
        "Liquor Law Violations",
        "LIQUOR LAW VIOLATIONS & DRUNKENNESS",
        "LIQUOR LAW VIOLATIONS",
        "SOCIETY",
        "B",
        O,
        0.05
    ),
    off!("26G", "Hacking/Computer Invasion", FRAUD_NEW, "FRAUD OFFENSES", "PROPERTY", "A", O, 0.05),
    off!("270", "Embezzlement", FRAUD_NEW, "EMBEZZLEMENT", "PROPERTY", "A", O, 0.05),
    off!("210", "Extortion/Blackmail", FRAUD_NEW, "EXTORTION/BLACKMAIL", "PROPERTY", "A", O, 0.05),
    off!("720", "Animal Cruelty", "ANIMAL CRUELTY", "ANIMAL CRUELTY", "SOCIETY", "A", O, 0.05),
    off!("370", "Pornography/Obscene Material", "PORNOGRAPHY", "PORNOGRAPHY/OBSCENE MATERIAL", "SOCIETY", "A", O, 0.05),
    off!("40A", "Prostitution", "PROSTITUTION OFFENSES", "PROSTITUTION OFFENSES", "SOCIETY", "A", O, 0.05),
    off!("90A", "Bad Checks", FRAUD_NEW, "BAD CHECKS", "PROPERTY", "B", O, 0.02),
    off!("26D", "Welfare Fraud", FRAUD_NEW, "FRAUD OFFENSES", "PROPERTY", "A", O, 0.02),
    off!("09C", "Justifiable Homicide", "JUSTIFIABLE HOMICIDE", "HOMICIDE OFFENSES", "NOT_A_CRIME", "A", O, 0.01),
    off!(
        "64A",
        "Human Trafficking, Commercial Sex Acts",
        "HUMAN TRAFFICKING",
        "HUMAN TRAFFICKING",
        "PERSON",
        "A",
        O,
        0.01
    ),
    off!("39A", "Betting/Wagering", "GAMBLING OFFENSES", "GAMBLING OFFENSES", "SOCIETY", "A", O, 0.01),
];

/// One SPD neighborhood (former MCPP area).
pub(crate) struct Area {
    pub name: &'static str,
    /// Precinct code as in the geojson (`N`, `E`, `S`, `SW`, `W`).
    pub precinct: &'static str,
    /// The sector (one letter) the area mostly lies in.
    pub sector: &'static str,
    pub lat: f64,
    pub lon: f64,
    /// Relative frequency of offenses.
    pub weight: f64,
}

macro_rules! area {
    ($name:expr, $p:expr, $s:expr, $lat:expr, $lon:expr, $w:expr) => {
        Area { name: $name, precinct: $p, sector: $s, lat: $lat, lon: $lon, weight: $w }
    };
}

pub(crate) const AREAS: &[Area] = &[
    area!("ALASKA JUNCTION", "SW", "W", 47.56168, -122.39035, 1.5),
    area!("ALKI", "SW", "W", 47.57857, -122.39617, 0.8),
    area!("BALLARD NORTH", "N", "B", 47.69275, -122.37728, 1.5),
    area!("BALLARD SOUTH", "N", "B", 47.67008, -122.37803, 2.5),
    area!("BELLTOWN", "W", "M", 47.61435, -122.34939, 4.0),
    area!("BITTERLAKE", "N", "N", 47.71474, -122.36392, 2.0),
    area!("BRIGHTON/DUNLAP", "S", "S", 47.53504, -122.27219, 1.2),
    area!("CAPITOL HILL", "E", "E", 47.62691, -122.31852, 5.0),
    area!("CENTRAL AREA/SQUIRE PARK", "E", "G", 47.61627, -122.29894, 2.0),
    area!("CLAREMONT/RAINIER VISTA", "S", "R", 47.56730, -122.29665, 0.8),
    area!("COLUMBIA CITY", "S", "R", 47.55715, -122.28287, 1.5),
    area!("COMMERCIAL DUWAMISH", "SW", "F", 47.56050, -122.35372, 0.4),
    area!("COMMERCIAL HARBOR ISLAND", "SW", "F", 47.57482, -122.35096, 0.3),
    area!("DOWNTOWN COMMERCIAL", "W", "M", 47.60767, -122.33478, 6.0),
    area!("EASTLAKE - EAST", "E", "C", 47.63186, -122.32378, 0.8),
    area!("EASTLAKE - WEST", "W", "D", 47.63867, -122.32572, 0.8),
    area!("FAUNTLEROY SW", "SW", "W", 47.51440, -122.38765, 0.6),
    area!("FIRST HILL", "E", "E", 47.60857, -122.32273, 2.0),
    area!("FREMONT", "N", "B", 47.66080, -122.35564, 1.5),
    area!("GENESEE", "S", "R", 47.56559, -122.28180, 0.7),
    area!("GEORGETOWN", "S", "O", 47.54318, -122.31409, 1.0),
    area!("GREENWOOD", "N", "J", 47.69534, -122.35475, 1.8),
    area!("HIGH POINT", "SW", "F", 47.54363, -122.36717, 0.8),
    area!("HIGHLAND PARK", "SW", "F", 47.52767, -122.34128, 0.9),
    area!("HILLMAN CITY", "S", "R", 47.54960, -122.27835, 1.0),
    area!("INTERNATIONAL DISTRICT", "W", "K", 47.59738, -122.32066, 2.0),
    area!("JUDKINS PARK/NORTH BEACON HILL", "E", "G", 47.59608, -122.31030, 1.2),
    area!("LAKECITY", "N", "L", 47.71650, -122.29555, 3.0),
    area!("LAKEWOOD/SEWARD PARK", "S", "S", 47.54996, -122.26792, 0.5),
    area!("LESCHI/MADRONA", "E", "G", 47.61076, -122.29161, 0.8),
    area!("MADISON PARK", "E", "C", 47.62780, -122.28713, 0.5),
    area!("MAGNOLIA", "W", "Q", 47.64732, -122.38761, 1.0),
    area!("MID BEACON HILL", "S", "O", 47.55395, -122.30412, 0.9),
    area!("MILLER PARK", "E", "C", 47.62687, -122.30345, 0.6),
    area!("MONTLAKE/PORTAGE BAY", "E", "C", 47.63654, -122.30699, 0.5),
    area!("MORGAN", "SW", "W", 47.54426, -122.38955, 0.8),
    area!("MOUNT BAKER", "S", "R", 47.57735, -122.29262, 0.8),
    area!("NEW HOLLY", "S", "S", 47.53940, -122.28930, 0.7),
    area!("NORTH ADMIRAL", "SW", "W", 47.58135, -122.38787, 0.6),
    area!("NORTH BEACON HILL", "S", "O", 47.57692, -122.30929, 1.0),
    area!("NORTH DELRIDGE", "SW", "F", 47.55311, -122.35698, 0.8),
    area!("NORTHGATE", "N", "N", 47.70768, -122.32234, 4.0),
    area!("PHINNEY RIDGE", "N", "J", 47.67128, -122.34992, 0.9),
    area!("PIGEON POINT", "SW", "F", 47.56617, -122.35828, 0.3),
    area!("PIONEER SQUARE", "W", "K", 47.59575, -122.33340, 2.5),
    area!("QUEEN ANNE", "W", "Q", 47.63496, -122.36299, 3.5),
    area!("RAINIER BEACH", "S", "S", 47.52258, -122.27192, 1.5),
    area!("RAINIER VIEW", "S", "S", 47.50649, -122.25937, 0.5),
    area!("ROOSEVELT/RAVENNA", "N", "U", 47.67540, -122.32498, 1.8),
    area!("ROXHILL/WESTWOOD/ARBOR HEIGHTS", "SW", "W", 47.51183, -122.38088, 1.5),
    area!("SANDPOINT", "N", "U", 47.69099, -122.29093, 1.0),
    area!("SLU/CASCADE", "W", "D", 47.62471, -122.33532, 4.0),
    area!("SODO", "S", "O", 47.57725, -122.32956, 2.0),
    area!("SOUTH BEACON HILL", "S", "S", 47.52814, -122.29071, 0.6),
    area!("SOUTH DELRIDGE", "SW", "F", 47.51939, -122.35812, 0.7),
    area!("SOUTH PARK", "SW", "F", 47.52880, -122.32952, 0.8),
    area!("UNIVERSITY", "N", "U", 47.66384, -122.30770, 4.0),
    area!("WALLINGFORD", "N", "B", 47.66265, -122.33420, 1.5),
];

/// The data-side spellings of two names that differ from the map (`shared/data/geo`).
pub(crate) const DATA_SPELLINGS: &[(&str, &str)] =
    &[("LESCHI/MADRONA", "MADRONA/LESCHI"), ("INTERNATIONAL DISTRICT", "CHINATOWN/INTERNATIONAL DISTRICT")];

/// Sectors of each precinct code.
pub(crate) const PRECINCT_SECTORS: &[(&str, &str, &[&str])] = &[
    ("N", "North", &["B", "J", "L", "N", "U"]),
    ("E", "East", &["C", "E", "G"]),
    ("W", "West", &["D", "K", "M", "Q"]),
    ("S", "South", &["O", "R", "S"]),
    ("SW", "Southwest", &["F", "W"]),
];

pub(crate) const STREETS: &[&str] = &[
    "AURORA AVE N",
    "3RD AVE",
    "PINE ST",
    "RAINIER AVE S",
    "CALIFORNIA AVE SW",
    "NE 45TH ST",
    "15TH AVE NE",
    "BROADWAY",
    "MARTIN LUTHER KING JR WAY S",
    "DELRIDGE WAY SW",
    "LAKE CITY WAY NE",
    "NW MARKET ST",
    "35TH AVE SW",
    "E PIKE ST",
    "1ST AVE",
    "WESTLAKE AVE N",
    "N 85TH ST",
    "UNIVERSITY WAY NE",
    "S JACKSON ST",
    "4TH AVE S",
    "ELLIOTT AVE W",
    "QUEEN ANNE AVE N",
    "24TH AVE NW",
    "N 47TH ST",
    "BEACON AVE S",
    "AIRPORT WAY S",
    "E MADISON ST",
    "23RD AVE",
    "GREENWOOD AVE N",
    "HOLMAN RD NW",
    "5TH AVE NE",
    "NE NORTHGATE WAY",
    "S HENDERSON ST",
    "16TH AVE SW",
    "BELLEVUE AVE E",
    "DENNY WAY",
    "STONE WAY N",
    "15TH AVE W",
    "S MCCLELLAN ST",
    "SW ALASKA ST",
];
