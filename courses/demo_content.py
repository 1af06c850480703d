# ruff: noqa: E501 - teaching text reads better one paragraph to a line
"""The demo courses as plain data, in Chinese (the source language) with a faithful English
translation of every string: ``T(zh, en)``. courses/demo.py turns this into Wagtail pages
and wagtail-localize translations.

Each Chinese and English pair must have the same shape: the same number of paragraphs,
list items and bold runs in rich text, because wagtail-localize translates rich text segment
by segment into the Chinese page's structure. Questions' answers and points are data, not
text, so the English page gets them from the Chinese one.

The regulations quoted are China's national rules as of 2025: the Road Traffic Safety Law's
implementing regulations and the Interim Measures for the Administration of Online Taxi
Booking Business Operations and Services. Cities add their own rules; the courses say so."""

from typing import NamedTuple


class T(NamedTuple):
    """A text in Chinese and its English translation."""

    zh: str
    en: str


def heading(text: T) -> dict:
    return {"type": "heading", "text": text}


def paragraph(html: T) -> dict:
    """Rich text: <p>, <ul>/<ol> with <li>, <b>, <i>."""
    return {"type": "paragraph", "html": html}


def tip(html: T) -> dict:
    return {"type": "callout", "kind": "tip", "html": html}


def warning(html: T) -> dict:
    return {"type": "callout", "kind": "warning", "html": html}


def checklist(title: T, steps: list[T]) -> dict:
    return {"type": "checklist", "title": title, "steps": steps}


def single_choice(question: T, choices: list[tuple[T, bool]], points: int, explanation: T):
    """Exactly one choice is True. ``explanation`` is plain text (one paragraph)."""
    return {
        "type": "single_choice",
        "question": question,
        "choices": choices,
        "points": points,
        "explanation": explanation,
    }


def multiple_choice(question: T, choices: list[tuple[T, bool]], points: int, explanation: T):
    return {
        "type": "multiple_choice",
        "question": question,
        "choices": choices,
        "points": points,
        "explanation": explanation,
    }


def true_false(question: T, answer: bool, points: int, explanation: T) -> dict:
    return {
        "type": "true_false",
        "question": question,
        "answer": answer,
        "points": points,
        "explanation": explanation,
    }


QUIZ_TITLE = T("课程测验", "Course quiz")
QUIZ_INTRO = paragraph(
    T(
        "<p>回答下面的问题。得分达到课程的及格线即可完成课程，答题后可以看到每道题的解析。</p>",
        "<p>Answer the questions below. Reach the course's pass mark to complete the course; after you answer, you can see an explanation for each question.</p>",
    )
)


CATALOGUE = {
    "title": T("课程", "Courses"),
    "intro": T(
        "<p>职业院校和汽车企业为网约车司机开设的课程：安全驾驶、乘客服务、新能源汽车、法规、急救和职业发展。在手机上随时学习，通过测验即可获得可核验的证书。</p>",
        "<p>Courses for ride-hailing drivers from vocational schools and carmakers: safe driving, passenger service, electric vehicles, regulations, first aid and career development. Study on your phone whenever you like, and pass the quiz to earn a verifiable certificate.</p>",
    ),
}


DEFENSIVE_DRIVING = {
    "slug": "defensive-driving",
    "provider": "pengcheng-transport",
    "co_developers": [],
    "prerequisites": [],
    "title": T(
        "防御性驾驶：网约车安全行车基础",
        "Defensive driving: road safety basics for ride-hailing drivers",
    ),
    "summary": T(
        "学会预判风险、保持安全车距、远离疲劳和分心驾驶。防御性驾驶保护乘客、自己和其他道路使用者。",
        "Learn to anticipate hazards, keep a safe following distance and avoid fatigue and distraction. Defensive driving protects your passengers, yourself and other road users.",
    ),
    "description": T(
        "<p>网约车司机每天在城市道路上行驶两三百公里，身边是行人、电动自行车、公交车和复杂的路口。防御性驾驶的核心是：假设别人可能犯错，提前给自己留出时间和空间。本课程讲解观察与预判、车距与车速、疲劳与分心三部分，最后有一次测验。</p>",
        "<p>Ride-hailing drivers cover 200 to 300 kilometres of city roads every day, among pedestrians, e-bikes, buses and complicated junctions. The heart of defensive driving is to assume that others may make mistakes and to leave yourself time and space in advance. This course covers observation and anticipation, following distance and speed, and fatigue and distraction, and ends with a quiz.</p>",
    ),
    "category": "safe_driving",
    "level": 1,
    "estimated_minutes": 40,
    "vehicle_models": None,
    "price_fen": 0,
    "sponsor": None,
    "lessons": [
        {
            "slug": "observation-and-anticipation",
            "title": T("观察与预判", "Observation and anticipation"),
            "minutes": 10,
            "body": [
                heading(T("把视线放远", "Look far ahead")),
                paragraph(
                    T(
                        "<p>在城市道路上，视线应看到前方大约 12 秒的行程，而不只是盯着前车的车尾。这样能提前发现前方的刹车、施工和横穿的行人，给自己留出反应时间。</p>"
                        "<p>每隔 5 到 8 秒扫视一次车内和两侧后视镜；变道和转弯前，还要转头确认盲区。</p>",
                        "<p>On city roads, look about 12 seconds of travel ahead, not just at the back of the car in front. That way you spot braking, roadworks and pedestrians crossing early, and leave yourself time to react.</p>"
                        "<p>Glance at the interior and side mirrors every 5 to 8 seconds; before changing lanes or turning, also turn your head to check the blind spot.</p>",
                    )
                ),
                heading(T("识别常见危险", "Recognise common hazards")),
                paragraph(
                    T(
                        "<ul>"
                        "<li>“鬼探头”：停靠的公交车、货车前方可能突然走出行人，经过时减速并准备制动。</li>"
                        "<li>电动自行车：常从车辆右侧穿行，右转前先看右侧后视镜，再回头确认。</li>"
                        "<li>路口：绿灯亮起后也要先看左右，防止有车辆闯红灯。</li>"
                        "<li>上下客：靠边停车时注意后方来车和非机动车，提醒乘客从右侧开门。</li>"
                        "</ul>",
                        "<ul>"
                        "<li>Pedestrians stepping out: someone may suddenly walk out in front of a stopped bus or lorry, so slow down and be ready to brake as you pass.</li>"
                        "<li>E-bikes: they often pass on the right of the car, so before turning right, check the right-hand mirror and then look over your shoulder.</li>"
                        "<li>Junctions: even after the light turns green, look left and right first in case a vehicle runs the red light.</li>"
                        "<li>Pick-up and drop-off: when pulling in, watch for traffic and cyclists coming from behind, and ask passengers to open the door on the right-hand side.</li>"
                        "</ul>",
                    )
                ),
                tip(
                    T(
                        "<p>乘客下车前说一句“请从右侧下车，注意后方来车”，可以避免大部分开门事故。</p>",
                        "<p>Before passengers get out, say “Please get out on the right and watch for traffic behind”: it prevents most door-opening accidents.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "following-distance-and-speed",
            "title": T("安全车距与车速", "Following distance and speed"),
            "minutes": 10,
            "body": [
                heading(T("三秒法则", "The three-second rule")),
                paragraph(
                    T(
                        "<p>选路边一个固定参照物，比如路灯杆。前车车尾经过它时，开始数“一千零一、一千零二、一千零三”；如果没数完你的车头就到了参照物，说明跟得太近。</p>"
                        "<p>雨天、夜间、路面湿滑或者载着乘客时，把间隔增加到 4 到 6 秒。</p>",
                        "<p>Pick a fixed point by the road, such as a lamp post. When the back of the car in front passes it, count “one thousand and one, one thousand and two, one thousand and three”; if your front bumper reaches the point before you finish, you are following too closely.</p>"
                        "<p>In rain, at night, on slippery roads or with passengers on board, increase the gap to 4 to 6 seconds.</p>",
                    )
                ),
                heading(T("高速公路上的车距", "Following distance on expressways")),
                paragraph(
                    T(
                        "<p>根据《道路交通安全法实施条例》，在高速公路上车速超过每小时 100 公里时，应当与同车道前车保持 100 米以上的距离；车速低于每小时 100 公里时，距离可以适当缩短，但最小不得少于 50 米。</p>",
                        "<p>Under the Regulations for the Implementation of the Road Traffic Safety Law, on an expressway at more than 100 km/h you must stay more than 100 metres behind the vehicle ahead in the same lane; below 100 km/h the distance may be shorter, but never less than 50 metres.</p>",
                    )
                ),
                warning(
                    T(
                        "<p>高速公路上遇到雾天：能见度小于 200 米时，开启雾灯、近光灯、示廓灯和前后位灯，车速不超过每小时 60 公里，车距保持 100 米以上；能见度小于 100 米时，还要开启危险报警闪光灯，车速不超过每小时 40 公里，车距保持 50 米以上；能见度小于 50 米时，车速不超过每小时 20 公里，并从最近的出口尽快驶离高速公路。</p>",
                        "<p>Fog on an expressway: when visibility is under 200 metres, switch on the fog lights, dipped headlights, side-marker lights and front and rear position lights, keep below 60 km/h and more than 100 metres behind; under 100 metres, also switch on the hazard lights, keep below 40 km/h and more than 50 metres behind; under 50 metres, keep below 20 km/h and leave the expressway at the nearest exit as soon as possible.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "fatigue-and-distraction",
            "title": T("疲劳与分心", "Fatigue and distraction"),
            "minutes": 10,
            "body": [
                heading(T("疲劳驾驶", "Driving tired")),
                paragraph(
                    T(
                        "<p>法规规定，连续驾驶机动车超过 4 小时，必须停车休息，且休息时间不少于 20 分钟。网约车司机在线时间长，更要主动安排休息：频繁打哈欠、眼皮发沉、记不清刚才开过的路段，都是疲劳的信号。</p>"
                        "<p>困倦时，开窗吹风、喝咖啡只能短暂提神。最有效的办法是找安全的地方停车，小睡 15 到 20 分钟。</p>",
                        "<p>The rules say that after driving for more than 4 hours in a row you must stop and rest, for at least 20 minutes. Ride-hailing drivers are online for long hours, so plan your breaks: frequent yawning, heavy eyelids and not remembering the stretch of road you just drove are all signs of fatigue.</p>"
                        "<p>When you feel drowsy, opening the window or drinking coffee only helps for a short while. The most effective remedy is to stop somewhere safe and nap for 15 to 20 minutes.</p>",
                    )
                ),
                heading(T("分心驾驶", "Distracted driving")),
                paragraph(
                    T(
                        "<p>行驶中手持手机接打电话、查看或回复消息，都是违法行为。出发前设置好导航，接单和联系乘客尽量在停车时完成；必须通话时使用车载蓝牙，长话短说。</p>",
                        "<p>Holding a phone to make or take calls, or to read or reply to messages while driving, is against the law. Set up the navigation before you set off, and accept orders and contact passengers while stopped whenever possible; if you must talk, use the car's Bluetooth and keep it short.</p>",
                    )
                ),
                checklist(
                    T("出车前检查", "Checks before each shift"),
                    [
                        T(
                            "轮胎：气压正常，没有鼓包、没有扎钉",
                            "Tyres: correct pressure, no bulges, no nails",
                        ),
                        T(
                            "灯光：大灯、转向灯、刹车灯工作正常",
                            "Lights: headlights, indicators and brake lights working",
                        ),
                        T(
                            "车窗和后视镜干净，视野清晰",
                            "Windows and mirrors clean, with a clear view",
                        ),
                        T(
                            "手机支架固定好，导航和接单软件已设置",
                            "Phone mount secure, navigation and ride-hailing app set up",
                        ),
                        T(
                            "身体状态：睡眠充足，没有饮酒，没有服用会引起嗜睡的药物",
                            "Your condition: enough sleep, no alcohol, no medicine that causes drowsiness",
                        ),
                    ],
                ),
            ],
        },
        {
            "slug": "quiz",
            "title": QUIZ_TITLE,
            "minutes": 10,
            "body": [
                QUIZ_INTRO,
                single_choice(
                    T(
                        "在普通道路上跟车行驶时，“三秒法则”指的是什么？",
                        "When following another car on an ordinary road, what does the “three-second rule” mean?",
                    ),
                    [
                        (
                            T(
                                "与前车至少保持 3 秒的行驶间隔",
                                "Keep at least a 3-second gap behind the vehicle in front",
                            ),
                            True,
                        ),
                        (
                            T(
                                "每 3 秒看一次手机导航",
                                "Look at the phone navigation every 3 seconds",
                            ),
                            False,
                        ),
                        (
                            T(
                                "绿灯亮起 3 秒后再起步",
                                "Move off 3 seconds after the light turns green",
                            ),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "以路边固定物为参照，前车经过后至少数满 3 秒你才经过。雨天、夜间应增加到 4 到 6 秒。",
                        "Using a fixed point by the road, you should pass it at least 3 seconds after the car in front. In rain or at night, increase this to 4 to 6 seconds.",
                    ),
                ),
                multiple_choice(
                    T(
                        "以下哪些是疲劳驾驶的信号？（多选）",
                        "Which of these are signs of driving tired? (Choose all that apply)",
                    ),
                    [
                        (T("频繁打哈欠", "Yawning frequently"), True),
                        (
                            T(
                                "记不清刚才开过的路段",
                                "Not remembering the stretch of road you just drove",
                            ),
                            True,
                        ),
                        (
                            T(
                                "车辆不自觉地偏离车道",
                                "The car drifting out of its lane without you meaning it to",
                            ),
                            True,
                        ),
                        (
                            T(
                                "按计划在服务区停车休息",
                                "Stopping to rest at a service area as planned",
                            ),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "前三项都是疲劳信号，出现时应尽快找安全的地方停车休息。按计划休息正是预防疲劳的好习惯。",
                        "The first three are signs of fatigue: when you notice them, stop somewhere safe and rest as soon as you can. Resting as planned is exactly the habit that prevents fatigue.",
                    ),
                ),
                true_false(
                    T(
                        "在高速公路上车速超过每小时 100 公里时，应当与同车道前车保持 100 米以上的距离。",
                        "On an expressway at more than 100 km/h, you must stay more than 100 metres behind the vehicle ahead in the same lane.",
                    ),
                    True,
                    1,
                    T(
                        "这是《道路交通安全法实施条例》的规定；车速低于每小时 100 公里时，最小距离也不得少于 50 米。",
                        "This is set by the Regulations for the Implementation of the Road Traffic Safety Law; below 100 km/h, the distance must still be at least 50 metres.",
                    ),
                ),
                true_false(
                    T(
                        "只要车速不快，手持手机回复乘客消息是安全的。",
                        "Replying to a passenger's message on a hand-held phone is safe as long as you are driving slowly.",
                    ),
                    False,
                    1,
                    T(
                        "行驶中手持手机是违法的分心驾驶。应停车后再回复，或使用语音和车载蓝牙。",
                        "Using a hand-held phone while driving is illegal distracted driving. Reply after you have stopped, or use voice control and the car's Bluetooth.",
                    ),
                ),
                single_choice(
                    T(
                        "经过停靠在路边的公交车时，应该怎么做？",
                        "What should you do when passing a bus stopped at the roadside?",
                    ),
                    [
                        (T("加速尽快通过", "Speed up to get past quickly"), False),
                        (
                            T(
                                "减速并准备制动，留意车前突然出现的行人",
                                "Slow down, be ready to brake and watch for pedestrians stepping out in front of it",
                            ),
                            True,
                        ),
                        (T("连续鸣喇叭", "Sound the horn continuously"), False),
                    ],
                    1,
                    T(
                        "公交车前方是视线盲区，下车的乘客可能突然走出来横穿马路。",
                        "You cannot see what is in front of the bus, and passengers who have just got off may suddenly step out to cross the road.",
                    ),
                ),
            ],
        },
    ],
}


PASSENGER_SERVICE = {
    "slug": "passenger-service",
    "provider": "pengcheng-transport",
    "co_developers": [],
    "prerequisites": [],
    "title": T(
        "乘客服务礼仪与投诉处理",
        "Passenger service etiquette and handling complaints",
    ),
    "summary": T(
        "从接单、迎客到送达，掌握网约车服务的标准流程和礼仪细节，学会冷静处理乘客的不满和投诉，提升服务评分。",
        "From accepting an order and greeting the passenger to arrival, learn the standard steps and the etiquette of ride-hailing service, and how to handle dissatisfaction and complaints calmly, to raise your service rating.",
    ),
    "description": T(
        "<p>好的服务从细节开始：准时到达、主动核对、整洁安静的车厢、合理的路线。本课程由鹏城交通职业技术学院的服务礼仪教师编写，结合真实的投诉案例，讲解一次行程中每个环节该怎么做。</p>",
        "<p>Good service starts with the details: arriving on time, checking who you are picking up, a clean and quiet car and a sensible route. Written by the service etiquette teachers of Pengcheng Transport Vocational College with real complaint cases, this course explains what to do at each step of a trip.</p>",
    ),
    "category": "service_quality",
    "level": 1,
    "estimated_minutes": 40,
    "vehicle_models": None,
    "price_fen": 0,
    "sponsor": None,
    "lessons": [
        {
            "slug": "pick-up",
            "title": T("从接单到上车", "From accepting the order to pick-up"),
            "minutes": 10,
            "body": [
                heading(T("到达与核对", "Arriving and checking")),
                paragraph(
                    T(
                        "<p>接单后尽快出发，按导航前往上车点。预计会迟到时，通过平台的隐私号码或消息主动告知乘客。</p>"
                        "<p>乘客上车时，请对方报一下手机尾号，并提醒乘客核对车牌，确认无误后再出发。这既是服务礼仪，也是安全要求。</p>",
                        "<p>Set off promptly after accepting an order and follow the navigation to the pick-up point. If you expect to be late, let the passenger know through the platform's masked number or messages.</p>"
                        "<p>When the passenger gets in, ask for the last digits of their phone number and remind them to check the number plate; set off only when both match. This is both good manners and a safety requirement.</p>",
                    )
                ),
                heading(T("问候与车内环境", "Greeting and the car's interior")),
                paragraph(
                    T(
                        "<ul>"
                        "<li>主动问候：“您好，是尾号 1234 的乘客吗？请系好安全带。”</li>"
                        "<li>确认目的地和路线偏好，询问空调温度是否合适。</li>"
                        "<li>车内保持整洁、没有异味；不在车内吸烟。</li>"
                        "<li>主动帮助携带行李的乘客、老人和孕妇。</li>"
                        "</ul>",
                        "<ul>"
                        "<li>Greet the passenger first: “Hello, is your phone number ending 1234? Please fasten your seat belt.”</li>"
                        "<li>Confirm the destination and any route preference, and ask whether the air-conditioning temperature is comfortable.</li>"
                        "<li>Keep the car clean and free of odours; never smoke in the car.</li>"
                        "<li>Offer help to passengers with luggage, older passengers and pregnant women.</li>"
                        "</ul>",
                    )
                ),
                tip(
                    T(
                        "<p>尊重乘客安静的需要：乘客不主动聊天时，不要追问私人问题，音乐音量保持适中。</p>",
                        "<p>Respect a passenger's wish for quiet: if they do not start a conversation, do not ask personal questions, and keep the music at a moderate volume.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "during-the-trip",
            "title": T("行程中与送达", "During the trip and on arrival"),
            "minutes": 10,
            "body": [
                heading(T("路线与驾驶", "Route and driving")),
                paragraph(
                    T(
                        "<p>原则上按平台导航的路线行驶；因拥堵或施工需要改道时，先征得乘客同意。平稳驾驶，不急加速、不急刹车，不和其他车辆斗气。</p>"
                        "<p>按照规定，网约车驾驶员不得途中甩客或者故意绕道行驶，不得违规收费，也不要私下和乘客议价或者要求线下支付。</p>",
                        "<p>As a rule, follow the platform's navigation route; if congestion or roadworks mean a detour, ask the passenger first. Drive smoothly, without harsh acceleration or braking, and never get into a contest with other drivers.</p>"
                        "<p>The rules forbid ride-hailing drivers to abandon passengers mid-trip or deliberately take a longer route, and to charge improperly; nor should you negotiate fares privately with passengers or ask them to pay outside the platform.</p>",
                    )
                ),
                heading(T("送达", "Arrival")),
                paragraph(
                    T(
                        "<p>到达后在安全、允许停车的位置停车，提醒乘客带好随身物品，从右侧开门下车。乘客离开后检查车内，发现遗失物品要及时通过平台联系失主，不得私自占有。</p>",
                        "<p>On arrival, stop somewhere safe where stopping is allowed, and remind the passenger to take their belongings and get out on the right-hand side. After they leave, check the car; if you find anything left behind, contact the owner through the platform straight away, and never keep it.</p>",
                    )
                ),
                checklist(
                    T("每一单的服务流程", "Service steps for every trip"),
                    [
                        T(
                            "核对手机尾号和车牌",
                            "Check the last digits of the phone number and the number plate",
                        ),
                        T(
                            "问候乘客，提醒系好安全带",
                            "Greet the passenger and remind them to fasten the seat belt",
                        ),
                        T("确认目的地和路线", "Confirm the destination and the route"),
                        T("平稳驾驶，按导航行驶", "Drive smoothly and follow the navigation"),
                        T(
                            "安全停车，提醒带好随身物品",
                            "Stop safely and remind the passenger to take their belongings",
                        ),
                        T("检查车内有没有遗失物品", "Check the car for anything left behind"),
                    ],
                ),
            ],
        },
        {
            "slug": "complaints",
            "title": T("投诉处理", "Handling complaints"),
            "minutes": 10,
            "body": [
                heading(T("冷静应对不满", "Responding calmly when a passenger is unhappy")),
                paragraph(
                    T(
                        "<p>乘客不满时，先倾听，不打断、不争辩；对确实存在的问题真诚道歉，并说明可以怎样弥补，比如重新规划路线、调整空调温度。</p>"
                        "<p>无论对方态度如何，都不要在车内争吵或者发生肢体冲突。遇到辱骂、威胁或者危及安全的情况，在安全的地点停车，使用平台的一键报警功能或拨打 110。</p>",
                        "<p>When a passenger is unhappy, listen first, without interrupting or arguing; apologise sincerely for any real problem and say how you can put it right, for example by re-planning the route or adjusting the air-conditioning.</p>"
                        "<p>Whatever their attitude, never argue or come to blows in the car. If you are insulted or threatened, or your safety is at risk, stop somewhere safe and use the platform's emergency alarm button or call 110.</p>",
                    )
                ),
                heading(T("被投诉后如何申诉", "Appealing after a complaint")),
                paragraph(
                    T(
                        "<p>收到投诉后，通过平台的申诉渠道如实说明情况，提供行程录音录像、行驶轨迹等证据。规定明确禁止对投诉或者给出差评的乘客实施报复，不得私下联系、骚扰乘客。</p>",
                        "<p>If you receive a complaint, explain what happened truthfully through the platform's appeal channel, with evidence such as the trip's audio or video recording and the route record. The rules expressly forbid retaliating against passengers who complain or give a poor rating; never contact or harass them privately.</p>",
                    )
                ),
                warning(
                    T(
                        "<p>乘客的姓名、电话和行程信息只能用于完成本次服务，不得保存、泄露或者用于其他用途。</p>",
                        "<p>A passenger's name, phone number and trip details may be used only to complete the trip; never keep them, disclose them or use them for anything else.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "quiz",
            "title": QUIZ_TITLE,
            "minutes": 10,
            "body": [
                QUIZ_INTRO,
                single_choice(
                    T(
                        "乘客上车时，最重要的核对是什么？",
                        "When a passenger gets in, what is the most important check?",
                    ),
                    [
                        (
                            T(
                                "核对手机尾号和车牌",
                                "The last digits of their phone number and the number plate",
                            ),
                            True,
                        ),
                        (T("询问乘客的职业", "The passenger's job"), False),
                        (T("确认乘客有没有带伞", "Whether the passenger has an umbrella"), False),
                    ],
                    1,
                    T(
                        "核对尾号和车牌可以防止接错人、上错车，保障司乘双方的安全。",
                        "Checking the digits and the plate prevents picking up the wrong person or getting into the wrong car, and keeps both driver and passenger safe.",
                    ),
                ),
                multiple_choice(
                    T(
                        "以下哪些做法违反网约车服务规定？（多选）",
                        "Which of these break the ride-hailing service rules? (Choose all that apply)",
                    ),
                    [
                        (T("途中甩客", "Abandoning a passenger mid-trip"), True),
                        (T("故意绕道行驶", "Deliberately taking a longer route"), True),
                        (T("违规收费", "Charging improperly"), True),
                        (
                            T(
                                "因道路施工，征得乘客同意后改道",
                                "Taking a detour because of roadworks, with the passenger's agreement",
                            ),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "前三项都被明确禁止；征得乘客同意的合理改道是允许的。",
                        "The first three are expressly forbidden; a reasonable detour with the passenger's agreement is allowed.",
                    ),
                ),
                single_choice(
                    T(
                        "乘客因为路线问题大声抱怨，你应该怎么做？",
                        "A passenger complains loudly about the route. What should you do?",
                    ),
                    [
                        (
                            T(
                                "和乘客争论，证明自己没错",
                                "Argue with the passenger to prove you are right",
                            ),
                            False,
                        ),
                        (
                            T(
                                "先倾听并道歉，再提出解决办法",
                                "Listen and apologise first, then offer a solution",
                            ),
                            True,
                        ),
                        (
                            T(
                                "立即停车，让乘客下车",
                                "Stop at once and make the passenger get out",
                            ),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "先倾听、再道歉、后解决，可以避免矛盾升级；中途让乘客下车属于甩客。",
                        "Listen, apologise, then solve the problem: this stops the conflict from escalating. Making the passenger get out mid-trip is abandoning them.",
                    ),
                ),
                true_false(
                    T(
                        "收到差评后，可以打电话给乘客，要求对方修改评价。",
                        "After a poor rating, you may call the passenger and ask them to change it.",
                    ),
                    False,
                    1,
                    T(
                        "不得私下联系或者报复给出差评的乘客，有异议应通过平台的申诉渠道处理。",
                        "You must not contact or retaliate against a passenger who gave a poor rating; if you disagree, use the platform's appeal channel.",
                    ),
                ),
            ],
        },
    ],
}


EV_CHARGING = {
    "slug": "ev-charging-and-range",
    "provider": "jiangnan-auto",
    "co_developers": ["yuanhang-nev"],
    "prerequisites": [],
    "title": T("新能源汽车充电安全与续航", "EV charging safety and range"),
    "summary": T(
        "远航新能源汽车与江南汽车技工学校联合开发：安全充电的操作要点、快充和慢充怎么选、冬季和高速的续航规划，以及延长动力电池寿命的日常习惯。",
        "Co-developed by Yuanhang New Energy Vehicles and Jiangnan Automotive Technical School: charging safely step by step, choosing fast or slow charging, planning range in winter and on expressways, and everyday habits that make the battery last longer.",
    ),
    "description": T(
        "<p>越来越多的网约车司机选择纯电动车：每公里的能源成本低，但充电和续航需要规划。本课程以远航 E5、E7 为例，讲解适用于大多数纯电动车的充电安全和续航知识。</p>",
        "<p>More and more ride-hailing drivers choose battery electric cars: energy costs less per kilometre, but charging and range need planning. Using the Yuanhang E5 and E7 as examples, this course explains charging safety and range for most battery electric cars.</p>",
    ),
    "category": "ev_technology",
    "level": 1,
    "estimated_minutes": 40,
    "vehicle_models": T("远航 E5, 远航 E7", "Yuanhang E5, Yuanhang E7"),
    "price_fen": 0,
    "sponsor": None,
    "lessons": [
        {
            "slug": "charging-safely",
            "title": T("安全充电", "Charging safely"),
            "minutes": 15,
            "body": [
                heading(T("使用正规的充电设施", "Use proper charging equipment")),
                paragraph(
                    T(
                        "<p>使用正规运营的公共充电站，或者由专业人员安装的家用充电桩。不要用家用插线板从楼上拉线给车充电，也不要私自改装充电设备：线路过载发热是电动汽车充电起火的常见原因。</p>",
                        "<p>Use properly operated public charging stations, or a home charger installed by a professional. Never charge through a household power strip with a cable run down from a flat upstairs, and never modify charging equipment yourself: overloaded, overheating wiring is a common cause of fires when charging electric cars.</p>",
                    )
                ),
                checklist(
                    T("充电操作步骤", "Charging step by step"),
                    [
                        T(
                            "停稳车辆，挂 P 挡，关闭车辆电源",
                            "Stop the car, select P and switch the car off",
                        ),
                        T(
                            "检查充电枪和车辆充电口：没有破损、没有积水、没有异物",
                            "Check the charging connector and the car's charging port: no damage, no standing water, no debris",
                        ),
                        T(
                            "插枪到位，按充电桩或 App 的提示启动充电",
                            "Plug in fully and start charging as the charger or the app tells you",
                        ),
                        T(
                            "充电过程中不要直接拔枪；需要中止时，先在充电桩或 App 上结束充电",
                            "Never pull the connector out while charging; to stop, end the session on the charger or in the app first",
                        ),
                        T(
                            "充电结束后挂好充电枪，盖好充电口盖",
                            "When charging has finished, hang the connector back up and close the charging port cover",
                        ),
                    ],
                ),
                warning(
                    T(
                        "<p>充电时如果闻到焦糊味、看到冒烟或者听到异常声响，立即按下充电桩的急停按钮，所有人远离车辆，拨打 119，并告知这是电动汽车。</p>",
                        "<p>If you smell burning, see smoke or hear unusual noises while charging, press the charger's emergency stop button at once, get everyone away from the car and call 119, saying that it is an electric car.</p>",
                    )
                ),
                heading(T("快充和慢充", "Fast and slow charging")),
                paragraph(
                    T(
                        "<p>直流快充通常 30 到 40 分钟就能把电量从 30% 充到 80%，适合在接单间隙补电；电量超过 80% 后充电功率会明显下降，继续充要等很久。交流慢充速度慢，但对电池更温和，适合晚上收车后充满。</p>",
                        "<p>DC fast charging usually takes 30 to 40 minutes to go from 30% to 80%, which suits top-ups between orders; above 80% the charging power drops noticeably, so carrying on means a long wait. AC slow charging is slower but gentler on the battery, and suits a full charge in the evening after your shift.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "range-and-battery-care",
            "title": T("续航规划与电池保养", "Range planning and battery care"),
            "minutes": 15,
            "body": [
                heading(T("影响续航的因素", "What affects range")),
                paragraph(
                    T(
                        "<ul>"
                        "<li>气温：冬季低温时电池活性下降，再加上开暖风，实际续航可能比标称续航减少 20% 到 40%。</li>"
                        "<li>车速：高速行驶时风阻大，时速 120 公里的能耗明显高于城市道路。</li>"
                        "<li>驾驶习惯：急加速、急刹车多，能耗就高；平稳驾驶并利用能量回收，可以把一部分动能转回电能。</li>"
                        "<li>胎压和载重：胎压偏低、后备厢长期放重物，都会增加能耗。</li>"
                        "</ul>",
                        "<ul>"
                        "<li>Temperature: in cold winter weather the battery is less active, and with the heating on as well, real range may be 20% to 40% below the rated range.</li>"
                        "<li>Speed: air resistance is high at speed, so energy use at 120 km/h is much higher than on city roads.</li>"
                        "<li>Driving style: lots of harsh acceleration and braking means high energy use; driving smoothly and using regenerative braking turns some of the car's motion back into electricity.</li>"
                        "<li>Tyre pressure and load: under-inflated tyres and heavy things left in the boot both increase energy use.</li>"
                        "</ul>",
                    )
                ),
                heading(T("日常电池保养", "Everyday battery care")),
                paragraph(
                    T(
                        "<p>日常运营时，把电量保持在 20% 到 80% 之间最有利于电池寿命，跑长途前再充满；尽量不要经常把电量用到 5% 以下。使用磷酸铁锂电池的车型，可以按说明书定期充满一次，校准电量显示。</p>"
                        "<p>冬季可以在出车前使用预约充电或电池预热功能，让电池在插枪状态下升温，既保护电池，又少消耗续航。</p>",
                        "<p>In daily work, keeping the charge between 20% and 80% is best for battery life; charge to full before a long trip, and try not to run the battery below 5% often. For cars with lithium iron phosphate (LFP) batteries, charge to full now and then as the manual advises, to recalibrate the charge display.</p>"
                        "<p>In winter, use scheduled charging or battery pre-heating before your shift, so that the battery warms up while still plugged in: this protects the battery and uses less of your range.</p>",
                    )
                ),
                tip(
                    T(
                        "<p>出车前看看当天的天气和订单方向：预计会跑机场或城际订单时，先把电量充到 80% 以上，并在导航中提前标记沿途的充电站。</p>",
                        "<p>Before your shift, check the day's weather and where your orders are likely to take you: if you expect airport or intercity trips, charge to above 80% first and mark charging stations along the way in your navigation.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "quiz",
            "title": QUIZ_TITLE,
            "minutes": 10,
            "body": [
                QUIZ_INTRO,
                single_choice(
                    T(
                        "日常运营中，对电池寿命最有利的电量区间是？",
                        "In daily work, which charge range is best for battery life?",
                    ),
                    [
                        (T("每次从 0% 充到 100%", "Always from 0% to 100%"), False),
                        (T("大约 20% 到 80%", "About 20% to 80%"), True),
                        (
                            T(
                                "每次都用到 5% 以下再充电",
                                "Always run it below 5% before charging",
                            ),
                            False,
                        ),
                    ],
                    1,
                    T(
                        "避免长时间满电和深度放电，可以减缓电池衰减；跑长途前再充满。",
                        "Avoiding long periods at full charge and deep discharges slows battery wear; charge to full before long trips.",
                    ),
                ),
                multiple_choice(
                    T(
                        "以下哪些做法不安全？（多选）",
                        "Which of these are unsafe? (Choose all that apply)",
                    ),
                    [
                        (
                            T(
                                "用家用插线板从楼上拉线给车充电",
                                "Charging through a household power strip with a cable run down from a flat upstairs",
                            ),
                            True,
                        ),
                        (
                            T(
                                "充电口有积水时直接插枪",
                                "Plugging in while there is standing water in the charging port",
                            ),
                            True,
                        ),
                        (
                            T(
                                "充电过程中直接拔枪",
                                "Pulling the connector out while charging",
                            ),
                            True,
                        ),
                        (
                            T(
                                "在正规运营的公共充电站充电",
                                "Charging at a properly operated public charging station",
                            ),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "前三项都可能导致触电、设备损坏或者起火。",
                        "The first three can all cause electric shock, damage to equipment or fire.",
                    ),
                ),
                true_false(
                    T(
                        "冬季低温时，纯电动车的实际续航通常会低于标称续航。",
                        "In cold winter weather, a battery electric car's real range is usually lower than its rated range.",
                    ),
                    True,
                    1,
                    T(
                        "低温会降低电池活性，开暖风也要耗电，续航可能减少 20% 到 40%。",
                        "Cold makes the battery less active and the heating also uses power, so range may fall by 20% to 40%.",
                    ),
                ),
                single_choice(
                    T(
                        "充电时闻到焦糊味，第一步应该做什么？",
                        "You smell burning while charging. What should you do first?",
                    ),
                    [
                        (
                            T("继续充电，再观察一会儿", "Keep charging and watch for a while"),
                            False,
                        ),
                        (
                            T(
                                "按下充电桩的急停按钮，所有人远离车辆",
                                "Press the charger's emergency stop button and get everyone away from the car",
                            ),
                            True,
                        ),
                        (
                            T("打开前舱盖查看", "Open the bonnet to have a look"),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "先切断电源、远离车辆，再拨打 119 报警。",
                        "Cut the power and get away from the car first, then call 119.",
                    ),
                ),
            ],
        },
    ],
}


EV_HIGH_VOLTAGE = {
    "slug": "ev-high-voltage-safety",
    "provider": "yuanhang-nev",
    "co_developers": [],
    "prerequisites": ["ev-charging-and-range"],
    "title": T(
        "新能源汽车三电系统与高压安全",
        "EV battery, motor and controls: high-voltage safety",
    ),
    "summary": T(
        "远航新能源汽车官方课程：认识动力电池、驱动电机和电控系统，读懂仪表上的故障提示，掌握涉水和碰撞后的高压安全处置。请在完成一级课程后学习。",
        "Official Yuanhang course: get to know the traction battery, the drive motor and the electronic controls, understand the warnings on the dashboard, and learn what to do for high-voltage safety after driving through water or a collision. Take it after the level 1 course.",
    ),
    "description": T(
        "<p>本课程由远航新能源汽车售后培训中心编写，面向已经完成《新能源汽车充电安全与续航》的司机。课程不教维修，而是教你判断什么时候可以继续行驶，什么时候必须停车求助。平台和车企可以为司机购买本课程的赞助名额。</p>",
        "<p>Written by Yuanhang's after-sales training centre for drivers who have completed “EV charging safety and range”. It does not teach repairs; it teaches you to judge when you can keep driving and when you must stop and call for help. Platforms and carmakers can buy sponsored seats on this course for their drivers.</p>",
    ),
    "category": "ev_technology",
    "level": 2,
    "estimated_minutes": 40,
    "vehicle_models": T("远航 E5, 远航 E7", "Yuanhang E5, Yuanhang E7"),
    "price_fen": 19900,
    # Meant to be paid for with seats a platform or carmaker buys (courses.SeatPool).
    "sponsor": "kuaixing",
    "lessons": [
        {
            "slug": "battery-motor-controls",
            "title": T("认识三电系统", "The battery, motor and controls"),
            "minutes": 15,
            "body": [
                heading(T("“三电”是什么", "What the “three electrics” are")),
                paragraph(
                    T(
                        "<ul>"
                        "<li><b>动力电池</b>：通常布置在车身底部，电压一般在 300 伏以上，为整车提供能量。</li>"
                        "<li><b>驱动电机</b>：把电能转换为驱动车轮的动能，减速时还能发电，回收能量。</li>"
                        "<li><b>电控系统</b>：包括电机控制器和电池管理系统（BMS），负责控制功率输出，监测电池的温度和电压。</li>"
                        "</ul>",
                        "<ul>"
                        "<li><b>Traction battery</b>: usually under the floor of the car, normally at more than 300 volts; it supplies the car's energy.</li>"
                        "<li><b>Drive motor</b>: turns electrical energy into motion at the wheels, and when slowing down it generates electricity to recover energy.</li>"
                        "<li><b>Electronic controls</b>: the motor controller and the battery management system (BMS), which control power output and monitor the battery's temperature and voltage.</li>"
                        "</ul>",
                    )
                ),
                warning(
                    T(
                        "<p>橙色线缆和贴有高压警告标识的部件属于高压系统。任何情况下都不要自行拆卸、触碰或维修，必须由具备资质的维修人员处理。</p>",
                        "<p>Orange cables and parts with high-voltage warning labels belong to the high-voltage system. Never remove, touch or repair them yourself under any circumstances: only qualified technicians may work on them.</p>",
                    )
                ),
                heading(T("读懂仪表提示", "Understanding dashboard warnings")),
                paragraph(
                    T(
                        "<p>动力电池故障灯、绝缘故障提示或者电机过热提示亮起时，应尽快在安全的地点停车，联系厂家服务热线。如果车辆进入限功率模式（仪表显示“乌龟”图标），说明系统正在保护电池或电机：降低车速，尽快驶离快速路，不要继续载客跑长途。</p>",
                        "<p>If the traction battery fault light, an insulation fault warning or a motor overheating warning comes on, stop somewhere safe as soon as possible and call the manufacturer's service line. If the car goes into reduced-power mode (a “turtle” symbol on the dashboard), the system is protecting the battery or the motor: slow down, leave the expressway as soon as possible, and do not carry on with a long trip with passengers.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "water-and-collisions",
            "title": T("涉水与碰撞后的高压安全", "High-voltage safety after floods and collisions"),
            "minutes": 15,
            "body": [
                heading(T("暴雨与涉水", "Heavy rain and flooded roads")),
                paragraph(
                    T(
                        "<p>电动汽车的高压部件有防水设计，但这不等于可以涉深水。遇到积水路段，先判断水深：水深超过车轮高度的一半，或者看不清水下的路面时，不要通过。低速匀速通过浅水后，轻踩几次制动，帮助制动盘去除水分。</p>"
                        "<p>如果车辆被水淹没或者在水中熄火，不要再次启动，也不要充电；所有人撤离到安全的地方后，联系救援。</p>",
                        "<p>An electric car's high-voltage parts are designed to be waterproof, but that does not mean you can drive through deep water. At a flooded stretch, judge the depth first: if the water is deeper than half the height of the wheels, or you cannot see the road surface under it, do not drive through. After crossing shallow water slowly and steadily, press the brake lightly a few times to dry the brake discs.</p>"
                        "<p>If the car has been submerged or has stalled in water, do not start it again and do not charge it; get everyone to a safe place, then call for help.</p>",
                    )
                ),
                heading(T("发生碰撞后", "After a collision")),
                paragraph(
                    T(
                        "<p>发生碰撞后，先开启危险报警闪光灯，确认车辆已停稳、挂入 P 挡并关闭电源。如果车底受到撞击，或者闻到刺鼻气味、看到冒烟，所有人立即下车，撤离到离车辆至少 20 米的上风处，拨打 119 和 122，告知这是电动汽车。动力电池受损后可能延迟起火，即使当时没有异常，也要请厂家检查后再使用车辆。</p>",
                        "<p>After a collision, switch on the hazard lights first and make sure the car has stopped, is in P and is switched off. If the underside of the car was hit, or you smell something acrid or see smoke, everyone must get out at once and move at least 20 metres away, upwind, then call 119 and 122 and say that it is an electric car. A damaged traction battery can catch fire later, so even if nothing seems wrong at the time, have the manufacturer inspect the car before you use it again.</p>",
                    )
                ),
                checklist(
                    T("碰撞后的处置顺序", "What to do after a collision, in order"),
                    [
                        T(
                            "开启危险报警闪光灯，挂 P 挡，关闭车辆电源",
                            "Switch on the hazard lights, select P and switch the car off",
                        ),
                        T(
                            "检查乘客和自己是否受伤",
                            "Check whether your passengers or you are injured",
                        ),
                        T(
                            "有冒烟、异味或者车底受撞时，所有人撤离到 20 米以外的上风处",
                            "If there is smoke or a strange smell, or the underside was hit, everyone moves more than 20 metres away, upwind",
                        ),
                        T(
                            "在车后方放置警告标志",
                            "Place the warning triangle behind the car",
                        ),
                        T(
                            "拨打 122 报警，有起火风险时同时拨打 119，告知是电动汽车",
                            "Call 122, and 119 as well if there is a risk of fire, saying that it is an electric car",
                        ),
                        T(
                            "联系厂家救援，车辆检查后再使用",
                            "Call the manufacturer's roadside assistance, and have the car inspected before using it again",
                        ),
                    ],
                ),
            ],
        },
        {
            "slug": "quiz",
            "title": QUIZ_TITLE,
            "minutes": 10,
            "body": [
                QUIZ_INTRO,
                single_choice(
                    T(
                        "电动汽车上的橙色线缆表示什么？",
                        "What do orange cables in an electric car indicate?",
                    ),
                    [
                        (T("高压系统部件", "Parts of the high-voltage system"), True),
                        (T("音响线路", "Audio wiring"), False),
                        (
                            T(
                                "可以自行更换的普通线束",
                                "Ordinary wiring you can replace yourself",
                            ),
                            False,
                        ),
                    ],
                    1,
                    T(
                        "橙色是高压部件的统一标识，只能由具备资质的人员维修。",
                        "Orange is the standard marking for high-voltage parts; only qualified people may work on them.",
                    ),
                ),
                multiple_choice(
                    T(
                        "车辆被水淹没后，以下哪些做法是正确的？（多选）",
                        "After the car has been submerged, which of these are right? (Choose all that apply)",
                    ),
                    [
                        (T("不要再次启动车辆", "Do not start the car again"), True),
                        (T("不要给车辆充电", "Do not charge the car"), True),
                        (
                            T(
                                "撤离到安全的地方后联系救援",
                                "Get to a safe place, then call for help",
                            ),
                            True,
                        ),
                        (
                            T(
                                "晾干后自己充电试车",
                                "Let it dry out, then charge it and test-drive it yourself",
                            ),
                            False,
                        ),
                    ],
                    3,
                    T(
                        "进水可能让高压系统的绝缘失效，必须由厂家检查后才能再启动和充电。",
                        "Water can break down the insulation of the high-voltage system; the manufacturer must inspect the car before it is started or charged again.",
                    ),
                ),
                true_false(
                    T(
                        "碰撞后当时没有冒烟，就说明动力电池一定没有受损。",
                        "If there is no smoke right after a collision, the traction battery cannot have been damaged.",
                    ),
                    False,
                    1,
                    T(
                        "动力电池受损后可能延迟起火，应由厂家检查后再使用车辆。",
                        "A damaged traction battery can catch fire later; have the manufacturer inspect the car before using it again.",
                    ),
                ),
                single_choice(
                    T(
                        "仪表上出现“乌龟”图标（限功率）时，应该怎么做？",
                        "The “turtle” symbol (reduced power) appears on the dashboard. What should you do?",
                    ),
                    [
                        (
                            T(
                                "继续高速行驶，完成长途订单",
                                "Keep driving fast to finish the long trip",
                            ),
                            False,
                        ),
                        (
                            T(
                                "降低车速，尽快驶离快速路，并联系服务热线",
                                "Slow down, leave the expressway as soon as possible and call the service line",
                            ),
                            True,
                        ),
                        (
                            T(
                                "关掉空调就能恢复正常",
                                "Turn off the air-conditioning and it will go back to normal",
                            ),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "限功率说明系统正在保护电池或电机，继续高负荷行驶可能让故障扩大。",
                        "Reduced power means the system is protecting the battery or the motor; driving on under heavy load may make the fault worse.",
                    ),
                ),
            ],
        },
    ],
}


REGULATIONS = {
    "slug": "ride-hailing-regulations",
    "provider": "pengcheng-transport",
    "co_developers": [],
    "prerequisites": [],
    "title": T(
        "网约车管理暂行办法要点",
        "Key points of the Interim Measures on ride-hailing",
    ),
    "summary": T(
        "每位网约车司机都应了解的法规：驾驶员证和车辆运输证的取得条件、被禁止的经营行为、经营区域和乘客信息保护，以及车辆何时必须退出营运。",
        "The rules every ride-hailing driver should know: the conditions for the driver's licence and the vehicle transport permit, prohibited conduct, the operating area and protecting passengers' information, and when a car must leave service.",
    ),
    "description": T(
        "<p>《网络预约出租汽车经营服务管理暂行办法》由交通运输部等七个部门于 2016 年发布，同年 11 月 1 日起施行，之后经过修订。本课程用通俗的语言讲解与司机关系最密切的条款。各城市还有具体的实施细则，请以当地交通运输主管部门的规定为准。</p>",
        "<p>The Interim Measures for the Administration of Online Taxi Booking Business Operations and Services were issued in 2016 by the Ministry of Transport and six other departments, took effect on 1 November that year, and have been amended since. This course explains the provisions that matter most to drivers in plain language. Each city also has its own detailed implementing rules; follow those of your local transport authority.</p>",
    ),
    "category": "regulations",
    "level": 1,
    "estimated_minutes": 30,
    "vehicle_models": None,
    "price_fen": 0,
    "sponsor": None,
    "lessons": [
        {
            "slug": "permits",
            "title": T("驾驶员证与车辆运输证", "The driver's licence and the vehicle permit"),
            "minutes": 10,
            "body": [
                heading(T("网约车驾驶员证", "The ride-hailing driver's licence")),
                paragraph(
                    T(
                        "<p>从事网约车服务的驾驶员，应当取得《网络预约出租汽车驾驶员证》。办法规定的基本条件是：</p>"
                        "<ul>"
                        "<li>取得相应准驾车型的机动车驾驶证，并具有 3 年以上驾驶经历；</li>"
                        "<li>无交通肇事犯罪、危险驾驶犯罪记录，无吸毒记录，无饮酒后驾驶记录，最近连续 3 个记分周期内没有记满 12 分的记录；</li>"
                        "<li>无暴力犯罪记录；</li>"
                        "<li>符合城市人民政府规定的其他条件。</li>"
                        "</ul>"
                        "<p>申请人还要通过网约车驾驶员从业资格考试，包括全国公共科目和区域科目。</p>",
                        "<p>Drivers who provide ride-hailing services must hold an Online Taxi Booking Driver's Licence. The basic conditions set by the Measures are:</p>"
                        "<ul>"
                        "<li>a driving licence for the relevant class of vehicle and at least 3 years' driving experience;</li>"
                        "<li>no record of the crime of causing a traffic accident or of dangerous driving, no record of drug use, no record of drink-driving, and no 12-point total in any of the last 3 consecutive scoring periods;</li>"
                        "<li>no record of violent crime;</li>"
                        "<li>any other conditions set by the city government.</li>"
                        "</ul>"
                        "<p>Applicants must also pass the ride-hailing driver qualification exam, which has a national common section and a local section.</p>",
                    )
                ),
                heading(T("车辆运输证与平台", "The vehicle transport permit and the platform")),
                paragraph(
                    T(
                        "<p>从事网约车经营的车辆，应当取得《网络预约出租汽车运输证》。基本条件是：7 座及以下乘用车；安装具有行驶记录功能的车辆卫星定位装置和应急报警装置；车辆技术性能符合运营安全相关标准要求。车辆的使用性质登记为“预约出租客运”。</p>"
                        "<p>平台公司必须取得网约车经营许可，并保证线上派单的车辆和驾驶员与线下实际提供服务的一致，也就是“人车一致”。</p>",
                        "<p>Cars used for ride-hailing must hold an Online Taxi Booking Transport Permit. The basic conditions are: a passenger car with 7 seats or fewer; a satellite positioning device with a driving-record function and an emergency alarm device installed; and technical condition meeting the standards for safe operation. The car's registered use becomes “booked taxi passenger transport”.</p>"
                        "<p>The platform company must hold a ride-hailing business licence and make sure that the car and driver dispatched online are the ones actually providing the service: “the same driver, the same car”.</p>",
                    )
                ),
                tip(
                    T(
                        "<p>营运时随车携带驾驶员证和运输证（或者按当地要求使用电子证件），并留意证件的有效期。</p>",
                        "<p>Carry the driver's licence and the transport permit when you work (or use the electronic versions where your city requires), and keep an eye on their expiry dates.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "conduct",
            "title": T("经营行为规范", "Rules of conduct"),
            "minutes": 10,
            "body": [
                heading(T("被禁止的行为", "What is prohibited")),
                paragraph(
                    T(
                        "<ul>"
                        "<li>途中甩客或者故意绕道行驶；</li>"
                        "<li>违规收费；</li>"
                        "<li>对举报、投诉其服务质量或者对其服务作出不满意评价的乘客实施报复行为；</li>"
                        "<li>巡游揽客：网约车只能通过平台接受预约，不能在路边招揽乘客；</li>"
                        "<li>把车辆或账号交给没有资格的人员使用，造成“人车不一致”。</li>"
                        "</ul>",
                        "<ul>"
                        "<li>abandoning passengers mid-trip or deliberately taking a longer route;</li>"
                        "<li>charging improperly;</li>"
                        "<li>retaliating against passengers who report or complain about the quality of the service or give it an unfavourable rating;</li>"
                        "<li>cruising for passengers: ride-hailing cars may only take bookings through the platform, not pick up passengers at the roadside;</li>"
                        "<li>letting an unqualified person use the car or the account, so that the driver and car no longer match those registered.</li>"
                        "</ul>",
                    )
                ),
                heading(T("经营区域与信息保护", "The operating area and protecting information")),
                paragraph(
                    T(
                        "<p>网约车应当在许可的经营区域内从事经营活动；超出许可区域的，行程的起点或终点应当有一端在许可区域内。</p>"
                        "<p>乘客的个人信息和行程信息受法律保护，驾驶员不得泄露，也不得用于完成服务以外的用途。</p>",
                        "<p>A ride-hailing car must operate within its licensed area; for a trip beyond that area, either the start or the end of the trip must be inside it.</p>"
                        "<p>Passengers' personal and trip information is protected by law: drivers must not disclose it or use it for anything other than providing the service.</p>",
                    )
                ),
                heading(T("车辆何时退出营运", "When a car must leave service")),
                paragraph(
                    T(
                        "<p>网约车行驶里程达到 60 万千米时强制报废；行驶里程未达到 60 万千米但使用年限达到 8 年时，退出网约车经营。</p>",
                        "<p>A ride-hailing car must be scrapped when it has covered 600,000 km; if it has not reached 600,000 km but has been in use for 8 years, it must leave ride-hailing service.</p>",
                    )
                ),
                warning(
                    T(
                        "<p>没有取得驾驶员证，或者车辆没有取得运输证就接单，属于非法营运，可能被处以罚款；发生事故时，保险公司也可能拒绝赔付。</p>",
                        "<p>Taking orders without a driver's licence, or in a car without a transport permit, is illegal operation and can be punished with fines; after an accident, the insurer may also refuse to pay.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "quiz",
            "title": QUIZ_TITLE,
            "minutes": 10,
            "body": [
                QUIZ_INTRO,
                single_choice(
                    T(
                        "申请网约车驾驶员证，至少需要几年驾驶经历？",
                        "How many years' driving experience do you need at least to apply for the ride-hailing driver's licence?",
                    ),
                    [
                        (T("1 年", "1 year"), False),
                        (T("3 年", "3 years"), True),
                        (T("5 年", "5 years"), False),
                    ],
                    1,
                    T(
                        "办法要求取得相应准驾车型的驾驶证，并具有 3 年以上驾驶经历。",
                        "The Measures require a driving licence for the relevant class of vehicle and at least 3 years' driving experience.",
                    ),
                ),
                multiple_choice(
                    T(
                        "以下哪些行为是网约车驾驶员被禁止的？（多选）",
                        "Which of these are ride-hailing drivers forbidden to do? (Choose all that apply)",
                    ),
                    [
                        (T("在路边巡游揽客", "Cruising for passengers at the roadside"), True),
                        (
                            T(
                                "报复给出差评的乘客",
                                "Retaliating against a passenger who gave a poor rating",
                            ),
                            True,
                        ),
                        (T("途中甩客", "Abandoning passengers mid-trip"), True),
                        (
                            T(
                                "通过平台接受预约订单",
                                "Taking bookings through the platform",
                            ),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "网约车只能通过平台接受预约；前三项都被办法明确禁止。",
                        "Ride-hailing cars may only take bookings through the platform; the Measures expressly forbid the first three.",
                    ),
                ),
                true_false(
                    T(
                        "网约车行驶里程未达到 60 万千米，但使用年限达到 8 年时，应当退出网约车经营。",
                        "A ride-hailing car that has not reached 600,000 km but has been in use for 8 years must leave ride-hailing service.",
                    ),
                    True,
                    1,
                    T(
                        "达到 60 万千米强制报废；未达到 60 万千米但使用满 8 年的，退出网约车经营。",
                        "At 600,000 km the car must be scrapped; below that, it leaves ride-hailing service after 8 years in use.",
                    ),
                ),
                single_choice(
                    T(
                        "“人车一致”指的是什么？",
                        "What does “the same driver, the same car” mean?",
                    ),
                    [
                        (
                            T(
                                "线上派单的车辆和驾驶员与线下实际提供服务的一致",
                                "The car and driver dispatched online are the ones actually providing the service",
                            ),
                            True,
                        ),
                        (
                            T(
                                "司机只能开登记在自己名下的车",
                                "Drivers may only drive cars registered in their own name",
                            ),
                            False,
                        ),
                        (
                            T(
                                "车身颜色必须和平台标志一致",
                                "The car's colour must match the platform's logo",
                            ),
                            False,
                        ),
                    ],
                    1,
                    T(
                        "平台必须保证线上线下一致，司机不得把账号或车辆交给他人使用。",
                        "The platform must make sure that online and offline match; drivers must not let anyone else use their account or car.",
                    ),
                ),
            ],
        },
    ],
}


FIRST_AID = {
    "slug": "first-aid-and-cpr",
    "provider": "jiangnan-auto",
    "co_developers": [],
    "prerequisites": [],
    "title": T("车内急救与心肺复苏", "First aid in the car and CPR"),
    "summary": T(
        "乘客突发心脏骤停、噎食、抽搐，或者遇到交通事故时怎么办：学会判断、呼救、胸外按压和使用 AED，用正确的急救为生命争取时间。",
        "What to do when a passenger's heart stops, when they choke or have a seizure, or when you come upon a road accident: learn to assess, call for help, give chest compressions and use an AED, and buy time for a life with the right first aid.",
    ),
    "description": T(
        "<p>心脏骤停后的 4 分钟是抢救的黄金时间。本课程由江南汽车技工学校和急救培训教师共同编写，讲解成人心肺复苏、AED 的使用、海姆立克急救法和交通事故现场的处置。线上课程不能代替实际操作训练，建议学完后参加红十字会等机构的线下培训。</p>",
        "<p>The first 4 minutes after cardiac arrest are the golden time for saving a life. Written by Jiangnan Automotive Technical School with first-aid instructors, this course covers adult CPR, using an AED, the Heimlich manoeuvre and what to do at the scene of a road accident. An online course cannot replace hands-on practice: after finishing it, we recommend an in-person course with the Red Cross or a similar organisation.</p>",
    ),
    "category": "first_aid",
    "level": 1,
    "estimated_minutes": 60,
    "vehicle_models": None,
    "price_fen": 9900,
    "sponsor": None,
    "lessons": [
        {
            "slug": "cpr-and-aed",
            "title": T("心肺复苏与 AED", "CPR and the AED"),
            "minutes": 25,
            "body": [
                heading(T("判断与呼救", "Check and call for help")),
                paragraph(
                    T(
                        "<p>乘客突然倒下、没有反应时，先在安全的地点停车，开启危险报警闪光灯。轻拍对方双肩并大声呼唤；如果没有反应，观察胸部有没有起伏，判断时间不超过 10 秒。没有呼吸或者只有濒死叹息样呼吸时，立即拨打 120，打开免提，按调度员的指导操作。</p>",
                        "<p>If a passenger suddenly collapses and does not respond, stop somewhere safe first and switch on the hazard lights. Tap their shoulders and shout to them; if there is no response, watch whether the chest rises and falls, taking no more than 10 seconds. If they are not breathing, or only gasping, call 120 at once, put the phone on speaker and follow the dispatcher's instructions.</p>",
                    )
                ),
                heading(T("胸外按压", "Chest compressions")),
                paragraph(
                    T(
                        "<p>在座椅上无法有效按压，应尽快把患者移到车外平坦坚实的地面上，让其仰卧。</p>"
                        "<ul>"
                        "<li>位置：胸部正中，两乳头连线的中点（胸骨下半部）。</li>"
                        "<li>手法：双手掌根重叠，手指翘起，双臂伸直，用上半身的力量垂直向下按压。</li>"
                        "<li>深度 5 到 6 厘米，频率每分钟 100 到 120 次。</li>"
                        "<li>每次按压后让胸廓完全回弹，尽量减少中断。</li>"
                        "<li>受过训练的施救者按 30 次按压、2 次人工呼吸循环进行；不会或者不愿做人工呼吸时，持续胸外按压。</li>"
                        "</ul>",
                        "<p>You cannot give effective compressions on a car seat, so move the patient out of the car onto flat, firm ground as quickly as possible and lay them on their back.</p>"
                        "<ul>"
                        "<li>Where: the centre of the chest, midway between the nipples (the lower half of the breastbone).</li>"
                        "<li>How: the heel of one hand on top of the other, fingers raised, arms straight, pushing straight down with the weight of your upper body.</li>"
                        "<li>Depth 5 to 6 cm, rate 100 to 120 per minute.</li>"
                        "<li>Let the chest come fully back up after each compression, and keep interruptions as short as possible.</li>"
                        "<li>Trained rescuers give cycles of 30 compressions and 2 rescue breaths; if you cannot or do not want to give rescue breaths, keep doing compressions only.</li>"
                        "</ul>",
                    )
                ),
                heading(T("使用 AED", "Using an AED")),
                paragraph(
                    T(
                        "<p>地铁站、机场、商场等公共场所通常配有 AED（自动体外除颤器）。AED 取来后立即开机，按语音提示贴好电极片；AED 分析心律和电击时，任何人都不要接触患者。电击后立即继续按压，直到急救人员到达或者患者恢复呼吸。</p>",
                        "<p>Metro stations, airports, shopping centres and other public places usually have an AED (automated external defibrillator). As soon as the AED arrives, switch it on and attach the pads as the voice prompts tell you; nobody may touch the patient while the AED analyses the heart rhythm or gives a shock. Resume compressions straight after the shock, until paramedics arrive or the patient starts breathing again.</p>",
                    )
                ),
                tip(
                    T(
                        "<p>在地图 App 或急救小程序里搜索“AED”，可以找到附近 AED 的位置；请旁人去取，你继续按压。</p>",
                        "<p>Search for “AED” in a map app or a first-aid mini-program to find the nearest AED; ask a bystander to fetch it while you carry on with compressions.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "choking-seizures-accidents",
            "title": T("噎食、抽搐与交通事故", "Choking, seizures and road accidents"),
            "minutes": 25,
            "body": [
                heading(T("海姆立克急救法", "The Heimlich manoeuvre")),
                paragraph(
                    T(
                        "<p>成人噎食后不能说话、不能咳嗽、双手抓住喉咙时，应立即施救：站在患者身后，双臂环抱其腰部，让其身体前倾；一只手握拳，拳眼放在肚脐上方两横指处，另一只手包住拳头，快速向内、向上冲击，直到异物排出。患者失去意识时，立即拨打 120 并开始心肺复苏。</p>",
                        "<p>If an adult who is choking cannot speak or cough and clutches their throat, act at once: stand behind them, put your arms around their waist and lean them forward; make a fist with one hand, put the thumb side two finger-widths above the navel, grasp the fist with your other hand and thrust quickly inwards and upwards until the object comes out. If they lose consciousness, call 120 at once and start CPR.</p>",
                    )
                ),
                heading(T("抽搐发作", "Seizures")),
                paragraph(
                    T(
                        "<p>乘客抽搐发作时，移开周围的硬物，在头下垫软物保护头部，不要按压肢体，也不要往嘴里塞任何东西。记下发作开始的时间；抽搐超过 5 分钟、反复发作，或者发作后不能恢复意识时，立即拨打 120。抽搐停止后，让患者侧卧，保持呼吸道通畅。</p>",
                        "<p>If a passenger has a seizure, move hard objects away, put something soft under their head to protect it, do not hold their limbs down and never put anything in their mouth. Note the time it started; call 120 at once if it lasts more than 5 minutes, happens again, or they do not come round afterwards. When it stops, lay them on their side to keep the airway open.</p>",
                    )
                ),
                heading(T("交通事故现场", "At the scene of a road accident")),
                checklist(
                    T("事故现场处置", "What to do at an accident"),
                    [
                        T(
                            "开启危险报警闪光灯，在车后 50 到 100 米处放置警告标志（高速公路上为 150 米以外）",
                            "Switch on the hazard lights and place the warning triangle 50 to 100 metres behind the car (more than 150 metres on an expressway)",
                        ),
                        T(
                            "所有人撤到护栏外或者路边的安全地带",
                            "Get everyone behind the crash barrier or to a safe place by the road",
                        ),
                        T(
                            "拨打 122 报警，有人受伤时同时拨打 120",
                            "Call 122, and 120 as well if anyone is hurt",
                        ),
                        T(
                            "出血的伤口用干净的布直接用力按压止血",
                            "Press a clean cloth firmly on bleeding wounds to stop the bleeding",
                        ),
                        T(
                            "怀疑颈部或脊柱受伤时，除非有起火等危险，不要搬动伤员",
                            "If a neck or spine injury is suspected, do not move the casualty unless there is a danger such as fire",
                        ),
                    ],
                ),
                warning(
                    T(
                        "<p>在高速公路上发生故障或事故后，车上人员应迅速转移到右侧路肩或者护栏外的安全地带，不要留在车内或者站在车后。</p>",
                        "<p>After a breakdown or accident on an expressway, everyone in the car must move quickly to the right-hand shoulder or to safety behind the crash barrier; do not stay in the car or stand behind it.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "quiz",
            "title": QUIZ_TITLE,
            "minutes": 10,
            "body": [
                QUIZ_INTRO,
                single_choice(
                    T(
                        "成人胸外按压的深度和频率是多少？",
                        "What depth and rate are right for adult chest compressions?",
                    ),
                    [
                        (
                            T(
                                "深度 5 到 6 厘米，每分钟 100 到 120 次",
                                "5 to 6 cm deep, 100 to 120 per minute",
                            ),
                            True,
                        ),
                        (
                            T(
                                "深度 2 到 3 厘米，每分钟 60 到 80 次",
                                "2 to 3 cm deep, 60 to 80 per minute",
                            ),
                            False,
                        ),
                        (
                            T(
                                "深度 8 到 10 厘米，每分钟 150 次以上",
                                "8 to 10 cm deep, more than 150 per minute",
                            ),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "按压太浅、太慢达不到效果，太深会增加损伤；每次按压后让胸廓完全回弹。",
                        "Compressions that are too shallow or too slow do not work, and too deep risks injury; let the chest come fully back up after each one.",
                    ),
                ),
                multiple_choice(
                    T(
                        "乘客抽搐发作时，以下哪些做法是正确的？（多选）",
                        "When a passenger has a seizure, which of these are right? (Choose all that apply)",
                    ),
                    [
                        (T("移开周围的硬物", "Move hard objects away"), True),
                        (
                            T("在头下垫软物", "Put something soft under their head"),
                            True,
                        ),
                        (
                            T(
                                "往嘴里塞毛巾，防止咬伤舌头",
                                "Put a towel in their mouth so they do not bite their tongue",
                            ),
                            False,
                        ),
                        (T("记下发作开始的时间", "Note the time it started"), True),
                    ],
                    2,
                    T(
                        "不要往患者嘴里塞任何东西，这可能造成窒息或者牙齿损伤。",
                        "Never put anything in the patient's mouth: it can cause choking or broken teeth.",
                    ),
                ),
                true_false(
                    T(
                        "AED 分析心律和电击时，任何人都不要接触患者。",
                        "While the AED analyses the heart rhythm or gives a shock, nobody may touch the patient.",
                    ),
                    True,
                    1,
                    T(
                        "接触患者会干扰心律分析，电击时还可能让施救者触电。",
                        "Touching the patient disturbs the rhythm analysis, and during a shock the rescuer could be shocked too.",
                    ),
                ),
                single_choice(
                    T(
                        "使用海姆立克急救法时，拳头应该放在哪里？",
                        "In the Heimlich manoeuvre, where do you place your fist?",
                    ),
                    [
                        (
                            T("肚脐上方两横指处", "Two finger-widths above the navel"),
                            True,
                        ),
                        (T("胸骨正中", "The middle of the breastbone"), False),
                        (T("后背两块肩胛骨之间", "Between the shoulder blades"), False),
                    ],
                    1,
                    T(
                        "拳眼放在肚脐上方两横指处，快速向内、向上冲击。",
                        "Put the thumb side of your fist two finger-widths above the navel and thrust quickly inwards and upwards.",
                    ),
                ),
                true_false(
                    T(
                        "在普通道路上发生事故后，应在车后 50 到 100 米处放置警告标志。",
                        "After an accident on an ordinary road, you should place the warning triangle 50 to 100 metres behind the car.",
                    ),
                    True,
                    1,
                    T(
                        "这是《道路交通安全法实施条例》的要求；在高速公路上，应放在来车方向 150 米以外。",
                        "This is required by the Regulations for the Implementation of the Road Traffic Safety Law; on an expressway, place it more than 150 metres away, facing oncoming traffic.",
                    ),
                ),
            ],
        },
    ],
}


INCOME_AND_INSURANCE = {
    "slug": "income-and-social-insurance",
    "provider": "pengcheng-transport",
    "co_developers": [],
    "prerequisites": [],
    "title": T("收入记账与社会保险", "Keeping income records and social insurance"),
    "summary": T(
        "算清每一单的真实收入：记录流水和成本，算出每公里成本和每小时净收入；了解灵活就业人员参加养老、医疗保险和职业伤害保障的方式，为自己和家人留好保障。",
        "Know what you really earn: record your takings and costs, and work out your cost per kilometre and net income per hour. Learn how flexible workers can join pension and medical insurance and occupational injury protection, to protect yourself and your family.",
    ),
    "description": T(
        "<p>很多司机只看平台的每日流水，却不清楚扣除充电、租车、保险、保养之后的真实收入。本课程教你用一张简单的表格记账，并介绍灵活就业人员参加社会保险的基本知识。社保政策各地不同，具体以当地人力资源和社会保障部门的规定为准。</p>",
        "<p>Many drivers look only at the platform's daily takings and do not know their real income after charging, car rental, insurance and servicing. This course shows you how to keep accounts in a simple table and explains the basics of social insurance for flexible workers. Social insurance policies differ from place to place; follow the rules of your local human resources and social security bureau.</p>",
    ),
    "category": "career_finance",
    "level": 1,
    "estimated_minutes": 30,
    "vehicle_models": None,
    "price_fen": 0,
    "sponsor": None,
    "lessons": [
        {
            "slug": "real-income",
            "title": T("算清真实收入", "Working out your real income"),
            "minutes": 10,
            "body": [
                heading(T("流水不等于收入", "Takings are not income")),
                paragraph(
                    T(
                        "<p>平台显示的流水是乘客支付的车费，扣除平台的信息服务费（抽成）之后，才是到手的收入；再减去车辆的各项成本，才是真正的净收入。常见的成本有：</p>"
                        "<ul>"
                        "<li>能源：充电费或者油费；</li>"
                        "<li>车辆：租金或者车贷月供、折旧；</li>"
                        "<li>保险：交强险和营运车辆商业险；</li>"
                        "<li>维护：保养、轮胎、洗车；</li>"
                        "<li>其他：停车费、通行费、手机流量。</li>"
                        "</ul>",
                        "<p>The takings the platform shows are the fares passengers paid; after the platform's information service fee (its commission), what is left is your payout, and only after subtracting all the costs of the car do you have your real net income. Common costs are:</p>"
                        "<ul>"
                        "<li>energy: charging or fuel;</li>"
                        "<li>the car: rent or loan repayments, and depreciation;</li>"
                        "<li>insurance: compulsory traffic accident insurance and commercial insurance for operating vehicles;</li>"
                        "<li>upkeep: servicing, tyres, car washes;</li>"
                        "<li>other: parking, tolls, mobile data.</li>"
                        "</ul>",
                    )
                ),
                heading(T("每天记账", "Keep daily accounts")),
                paragraph(
                    T(
                        "<p>每天收车后记下四个数：到手收入、当天支出、行驶里程和在线时长。每月汇总一次，算出两个指标：</p>"
                        "<ul>"
                        "<li>每公里成本 = 月总成本 ÷ 月行驶里程；</li>"
                        "<li>每小时净收入 =（月到手收入 − 月总成本）÷ 月在线小时数。</li>"
                        "</ul>"
                        "<p>比较不同时段、不同区域的每小时净收入，就知道什么时候出车最划算。</p>",
                        "<p>After each shift, write down four numbers: your payout, the day's spending, the distance driven and your hours online. Add them up once a month and work out two figures:</p>"
                        "<ul>"
                        "<li>cost per kilometre = total monthly costs ÷ kilometres driven in the month;</li>"
                        "<li>net income per hour = (monthly payout − total monthly costs) ÷ hours online in the month.</li>"
                        "</ul>"
                        "<p>Compare net income per hour across times of day and areas, and you will know when driving pays best.</p>",
                    )
                ),
                tip(
                    T(
                        "<p>把保险、年检、保养这类按年或按季度发生的支出平摊到每个月，避免旺季看起来赚得多，到用钱时却发现不够。</p>",
                        "<p>Spread yearly or quarterly costs such as insurance, inspections and servicing over every month, so that busy months do not look better than they are and you are not caught short when the bills arrive.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "social-insurance",
            "title": T("社会保险与职业保障", "Social insurance and protection at work"),
            "minutes": 12,
            "body": [
                heading(T("灵活就业人员参保", "Social insurance for flexible workers")),
                paragraph(
                    T(
                        "<p>没有和用人单位签订劳动合同的网约车司机，一般可以以灵活就业人员身份参加职工基本养老保险和职工基本医疗保险，费用由个人缴纳，缴费基数在当地公布的上下限之间自主选择。国家已要求放开灵活就业人员在就业地参保的户籍限制，可以在工作的城市参保。</p>"
                        "<p>也可以选择参加城乡居民基本养老保险和城乡居民基本医疗保险，缴费较低，待遇也相对较低。</p>",
                        "<p>Ride-hailing drivers without an employment contract can generally join the basic pension insurance and the basic medical insurance for employees as flexible workers, paying the contributions themselves and choosing a contribution base between the local minimum and maximum. The state has required household registration (hukou) restrictions on flexible workers joining where they work to be lifted, so you can join in the city where you work.</p>"
                        "<p>You can also choose the basic pension insurance and basic medical insurance for urban and rural residents, which cost less but also pay less.</p>",
                    )
                ),
                heading(T("职业伤害保障", "Occupational injury protection")),
                paragraph(
                    T(
                        "<p>国家正在推进新就业形态就业人员职业伤害保障试点。在已纳入试点的地区和平台，由平台企业按单缴费，司机个人不需要缴费；在接单过程中受到事故伤害时，可以按规定申请职业伤害保障待遇。是否覆盖，可以在平台 App 或者当地人社部门查询。</p>",
                        "<p>The state is piloting occupational injury protection for workers in new forms of employment. In the regions and platforms included in the pilot, the platform company pays a contribution for each order and drivers pay nothing themselves; if you are injured in an accident while working on an order, you can apply for occupational injury benefits under the rules. Check in the platform's app or with your local social security bureau whether you are covered.</p>",
                    )
                ),
                warning(
                    T(
                        "<p>私家车没有变更使用性质就从事网约车营运，发生事故时，商业保险可能以“改变车辆用途，危险程度显著增加”为由拒赔。请确认车辆已投保营运性质的保险。</p>",
                        "<p>If a private car is used for ride-hailing without changing its registered use, the commercial insurer may refuse to pay after an accident on the grounds that “the use of the car changed and the risk increased significantly”. Make sure the car is insured for commercial use.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "quiz",
            "title": QUIZ_TITLE,
            "minutes": 8,
            "body": [
                QUIZ_INTRO,
                single_choice(
                    T(
                        "某月总成本是 4500 元，当月行驶了 6000 公里，每公里成本是多少？",
                        "One month your total costs are 4,500 yuan and you drive 6,000 km. What is your cost per kilometre?",
                    ),
                    [
                        (T("0.75 元", "0.75 yuan"), True),
                        (T("1.33 元", "1.33 yuan"), False),
                        (T("4.5 元", "4.5 yuan"), False),
                    ],
                    2,
                    T(
                        "每公里成本 = 月总成本 ÷ 月行驶里程 = 4500 ÷ 6000 = 0.75 元。",
                        "Cost per kilometre = total monthly costs ÷ kilometres driven = 4,500 ÷ 6,000 = 0.75 yuan.",
                    ),
                ),
                multiple_choice(
                    T(
                        "计算净收入时，应该扣除哪些成本？（多选）",
                        "Which costs should you subtract when working out your net income? (Choose all that apply)",
                    ),
                    [
                        (T("充电费或油费", "Charging or fuel"), True),
                        (T("车辆租金或车贷月供", "Car rent or loan repayments"), True),
                        (T("保险和保养费用", "Insurance and servicing"), True),
                        (T("乘客支付的车费", "The fares passengers paid"), False),
                    ],
                    2,
                    T(
                        "车费是收入而不是成本；能源、车辆、保险和保养都是经营成本。",
                        "Fares are income, not costs; energy, the car, insurance and servicing are all running costs.",
                    ),
                ),
                true_false(
                    T(
                        "灵活就业的网约车司机不能参加职工基本养老保险。",
                        "Ride-hailing drivers who work flexibly cannot join the basic pension insurance for employees.",
                    ),
                    False,
                    1,
                    T(
                        "可以以灵活就业人员身份参加职工基本养老保险和职工基本医疗保险，由个人缴费。",
                        "They can join the employees' basic pension and medical insurance as flexible workers, paying the contributions themselves.",
                    ),
                ),
                true_false(
                    T(
                        "在职业伤害保障试点中，由平台企业按单缴费，司机个人不需要缴费。",
                        "In the occupational injury protection pilot, the platform company pays per order and drivers pay nothing themselves.",
                    ),
                    True,
                    1,
                    T(
                        "试点地区和平台由平台企业按单缴费；是否覆盖可以在平台 App 或当地人社部门查询。",
                        "In the pilot regions and platforms, the platform company pays per order; check in the platform's app or with your local social security bureau whether you are covered.",
                    ),
                ),
            ],
        },
    ],
}


DRIVER_ASSISTANCE = {
    "slug": "driver-assistance",
    "provider": "huachi-motors",
    "co_developers": [],
    "prerequisites": ["defensive-driving"],
    "title": T(
        "智能驾驶辅助系统的正确使用",
        "Using driver-assistance systems correctly",
    ),
    "summary": T(
        "华驰汽车官方课程：自适应巡航、车道保持和自动紧急制动能做什么、不能做什么；为什么驾驶员始终要手握方向盘、眼看路面，并对行车安全负责。",
        "Official Huachi Motors course: what adaptive cruise control, lane keeping and automatic emergency braking can and cannot do, and why the driver must always keep their hands on the wheel and eyes on the road, and remains responsible for safety.",
    ),
    "description": T(
        "<p>目前量产车上的组合驾驶辅助属于 L2 级，是“辅助驾驶”而不是“自动驾驶”。本课程以华驰 H5、H7 为例，讲解这些功能的工作原理和能力边界，帮助网约车司机在长时间驾驶中用好辅助功能，又不过度依赖。</p>",
        "<p>The combined driver assistance on today's production cars is Level 2: it assists the driver, it does not drive the car. Using the Huachi H5 and H7 as examples, this course explains how these features work and where their limits are, so that ride-hailing drivers can make good use of them on long shifts without relying on them too much.</p>",
    ),
    "category": "safe_driving",
    "level": 2,
    "estimated_minutes": 30,
    "vehicle_models": T("华驰 H5, 华驰 H7", "Huachi H5, Huachi H7"),
    "price_fen": 0,
    "sponsor": None,
    "lessons": [
        {
            "slug": "features-and-limits",
            "title": T("功能与边界", "Features and their limits"),
            "minutes": 10,
            "body": [
                heading(T("三个常用功能", "Three common features")),
                paragraph(
                    T(
                        "<ul>"
                        "<li><b>自适应巡航（ACC）</b>：按设定的车速行驶，并根据前车自动加速、减速，保持设定的跟车距离。</li>"
                        "<li><b>车道居中与车道保持（LCC/LKA）</b>：识别车道线，辅助转向，让车辆保持在车道内。</li>"
                        "<li><b>自动紧急制动（AEB）</b>：检测到即将发生碰撞而驾驶员没有及时反应时，自动制动，避免碰撞或者减轻碰撞。</li>"
                        "</ul>",
                        "<ul>"
                        "<li><b>Adaptive cruise control (ACC)</b>: drives at the set speed and automatically speeds up and slows down for the car in front, keeping the set following distance.</li>"
                        "<li><b>Lane centring and lane keeping (LCC/LKA)</b>: detects the lane markings and helps with steering to keep the car in its lane.</li>"
                        "<li><b>Automatic emergency braking (AEB)</b>: when it detects that a collision is about to happen and the driver has not reacted in time, it brakes automatically to avoid the collision or make it less severe.</li>"
                        "</ul>",
                    )
                ),
                heading(T("容易失效的场景", "Where they can fail")),
                paragraph(
                    T(
                        "<ul>"
                        "<li>前方有静止的车辆、施工锥桶、掉落物，或者横穿的行人和电动自行车；</li>"
                        "<li>车道线模糊的路段、路口、匝道、收费站和施工改道路段；</li>"
                        "<li>大雨、大雾、强烈逆光，或者摄像头、雷达被泥水遮挡；</li>"
                        "<li>前车突然变道，露出前方静止的车辆。</li>"
                        "</ul>",
                        "<ul>"
                        "<li>a stationary vehicle, traffic cones or debris ahead, or pedestrians and e-bikes crossing;</li>"
                        "<li>faded lane markings, junctions, slip roads, toll stations and roadworks diversions;</li>"
                        "<li>heavy rain, thick fog, strong glare, or a camera or radar covered with mud or water;</li>"
                        "<li>the car in front suddenly changing lanes and revealing a stationary vehicle ahead.</li>"
                        "</ul>",
                    )
                ),
                warning(
                    T(
                        "<p>使用任何驾驶辅助功能时，驾驶员都必须手握方向盘、眼看前方，随时准备接管。发生事故时，由驾驶员承担责任。</p>",
                        "<p>When using any driver-assistance feature, the driver must keep their hands on the wheel and their eyes ahead, ready to take over at any moment. If there is an accident, the driver is responsible.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "in-ride-hailing",
            "title": T("在网约车运营中使用", "Using them when driving for ride-hailing"),
            "minutes": 10,
            "body": [
                heading(T("什么时候用", "When to use them")),
                paragraph(
                    T(
                        "<p>在车流平稳的高速公路和城市快速路上，自适应巡航和车道居中可以减轻长时间驾驶的疲劳。在拥堵的城市道路上、学校和医院周边以及上下客时，建议关闭车道居中，由自己完全控制车辆。</p>"
                        "<p>跟车距离建议设置为较远的档位，给自己留出接管的时间。</p>",
                        "<p>On expressways and urban expressways with steady traffic, adaptive cruise control and lane centring can ease the fatigue of long hours at the wheel. On congested city streets, around schools and hospitals, and when picking up or dropping off passengers, switch lane centring off and keep full control of the car yourself.</p>"
                        "<p>Set the following distance to one of the longer settings, to leave yourself time to take over.</p>",
                    )
                ),
                checklist(
                    T("开启驾驶辅助之前", "Before switching on driver assistance"),
                    [
                        T(
                            "确认道路适合：车道线清晰，没有施工",
                            "Make sure the road is suitable: clear lane markings, no roadworks",
                        ),
                        T(
                            "摄像头和雷达区域干净，没有遮挡",
                            "The camera and radar areas are clean and unobstructed",
                        ),
                        T(
                            "设置合适的车速和较远的跟车距离",
                            "Set a suitable speed and a longer following distance",
                        ),
                        T(
                            "双手握住方向盘，留意仪表上的接管提示",
                            "Keep both hands on the wheel and watch the dashboard for take-over prompts",
                        ),
                    ],
                ),
                tip(
                    T(
                        "<p>不要向乘客宣传车辆“能自动驾驶”，也不要在乘客面前演示脱手驾驶。乘客的信任来自你的专注。</p>",
                        "<p>Never tell passengers that the car “drives itself”, and never show off hands-free driving in front of them. Passengers trust you because you stay focused.</p>",
                    )
                ),
            ],
        },
        {
            "slug": "quiz",
            "title": QUIZ_TITLE,
            "minutes": 10,
            "body": [
                QUIZ_INTRO,
                single_choice(
                    T(
                        "目前量产车上的组合驾驶辅助系统属于哪一类？",
                        "What are the combined driver-assistance systems on today's production cars?",
                    ),
                    [
                        (
                            T(
                                "L2 级驾驶辅助，由驾驶员负责",
                                "Level 2 driver assistance, with the driver responsible",
                            ),
                            True,
                        ),
                        (
                            T(
                                "完全自动驾驶，可以脱手",
                                "Fully self-driving, so you can take your hands off",
                            ),
                            False,
                        ),
                        (
                            T("只在夜间工作的系统", "Systems that only work at night"),
                            False,
                        ),
                    ],
                    1,
                    T(
                        "L2 级是辅助驾驶，驾驶员必须始终监控路况并对安全负责。",
                        "Level 2 is driver assistance: the driver must watch the road at all times and is responsible for safety.",
                    ),
                ),
                multiple_choice(
                    T(
                        "以下哪些场景中驾驶辅助系统容易失效？（多选）",
                        "In which of these situations can driver-assistance systems easily fail? (Choose all that apply)",
                    ),
                    [
                        (
                            T(
                                "前方有静止车辆或施工锥桶",
                                "A stationary vehicle or traffic cones ahead",
                            ),
                            True,
                        ),
                        (T("车道线模糊的路段", "Faded lane markings"), True),
                        (T("大雨、大雾天气", "Heavy rain or thick fog"), True),
                        (
                            T(
                                "车流平稳、车道线清晰的高速公路",
                                "An expressway with steady traffic and clear lane markings",
                            ),
                            False,
                        ),
                    ],
                    2,
                    T(
                        "静止障碍物、模糊的车道线和恶劣天气都会影响摄像头和雷达的判断。",
                        "Stationary obstacles, faded lane markings and bad weather all affect what the cameras and radar can judge.",
                    ),
                ),
                true_false(
                    T(
                        "开启自适应巡航后，驾驶员可以低头处理接单消息。",
                        "With adaptive cruise control on, the driver can look down to deal with order messages.",
                    ),
                    False,
                    1,
                    T(
                        "开启辅助功能时，驾驶员仍要眼看前方、随时准备接管。",
                        "With assistance features on, the driver must still keep their eyes ahead, ready to take over at any moment.",
                    ),
                ),
                single_choice(
                    T(
                        "为什么建议把跟车距离设置为较远的档位？",
                        "Why should you set the following distance to a longer setting?",
                    ),
                    [
                        (
                            T(
                                "给自己留出接管和制动的时间",
                                "To leave yourself time to take over and brake",
                            ),
                            True,
                        ),
                        (T("可以节省电量", "To save electricity"), False),
                        (
                            T("系统要求必须这样设置", "Because the system requires it"),
                            False,
                        ),
                    ],
                    1,
                    T(
                        "系统可能识别不到某些障碍物，较远的跟车距离给驾驶员留出了反应时间。",
                        "The system may not detect some obstacles; a longer following distance leaves the driver time to react.",
                    ),
                ),
            ],
        },
    ],
}


COURSES = [
    DEFENSIVE_DRIVING,
    PASSENGER_SERVICE,
    EV_CHARGING,
    EV_HIGH_VOLTAGE,
    REGULATIONS,
    FIRST_AID,
    INCOME_AND_INSURANCE,
    DRIVER_ASSISTANCE,
]


COURSES = [
    DEFENSIVE_DRIVING,
    PASSENGER_SERVICE,
    EV_CHARGING,
    EV_HIGH_VOLTAGE,
    REGULATIONS,
    FIRST_AID,
    INCOME_AND_INSURANCE,
    DRIVER_ASSISTANCE,
]


LEARNING_PATH = {
    "slug": "ev-driver-path",
    "title": T("新能源司机成长路径", "EV driver career path"),
    "intro": T(
        "<p>从安全充电，到高压安全，再到智能驾驶辅助：按顺序完成三门课程，每完成一门就达到新能源司机的下一个等级。</p>",
        "<p>From safe charging to high-voltage safety to driver assistance: complete the three courses in order, and each one you finish takes you to the next EV driver level.</p>",
    ),
    "steps": [
        ("ev-charging-and-range", T("新能源司机 一级", "EV driver level 1")),
        ("ev-high-voltage-safety", T("新能源司机 二级", "EV driver level 2")),
        ("driver-assistance", T("新能源司机 三级", "EV driver level 3")),
    ],
}
